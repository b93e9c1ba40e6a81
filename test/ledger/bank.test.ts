import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServices, type Services } from '../../src/app.ts';
import { connectOrm } from '../../src/orm.ts';
import type { Orm } from '../../src/platform/database.ts';
import { queryAll, queryOne } from '../../src/platform/sql.ts';
import { operator } from '../../src/shared/actor.ts';
import { isDomainError } from '../../src/shared/errors.ts';
import { MICROS_PER_UNIT, microsToDecimal } from '../../src/shared/money.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { seedTeam } from '../helpers/services.ts';

/**
 * The bank test: many concurrent clients move money at random against one team, and afterwards
 * not a micro-unit has appeared or vanished, no balance is negative, every idempotency key was
 * applied once, and nothing but a domain refusal ever reached a caller (no deadlock, no
 * serialization failure).
 */
const CLIENTS = 32;
const OPERATIONS = 2_000;
const MEMBERS = 40;
/** Service instances standing in for processes: each groups its own commits, and they contend in PostgreSQL. */
const PROCESSES = 4;
const TOP_UP = 5_000n * MICROS_PER_UNIT;

let db: TestDatabase;
let orm: Orm;
let services: Services;
let processes: Services[];

beforeAll(async () => {
  db = await createTestDatabase();
  // Enough connections for every client at once, so contention happens in PostgreSQL, not in the pool.
  orm = await connectOrm(db.url, undefined, { pool: { min: 0, max: CLIENTS + 4 } });
  services = createServices(orm);
  processes = Array.from({ length: PROCESSES }, () => createServices(orm));
});
afterAll(async () => {
  await orm.close(true);
  await db.drop();
});

type Operation =
  | { kind: 'credit' | 'debit'; memberId: number; amount: string; key: string }
  | { kind: 'close'; memberId: number }
  | { kind: 'replay'; of: number }
  | { kind: 'misuse'; of: number };

it('keeps every micro-unit under 32 concurrent clients doing 2,000 random operations', {
  timeout: 120_000,
}, async () => {
  const { team, owner, admin } = await seedTeam(services, { masterBalance: '0' });
  await services.ledger.topUp(operator, {
    teamId: team.id,
    amount: microsToDecimal(TOP_UP),
    reference: 'bank-1',
  });
  const memberIds: number[] = [];
  for (let i = 0; i < MEMBERS; i++) {
    const { member } = await services.members.create(owner.actor, { name: `Member ${i}` });
    memberIds.push(member.id);
  }

  // A seeded generator, so a failure can be replayed.
  let seed = 20_261_123;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const pick = <T>(items: T[]) => items[Math.floor(random() * items.length)]!;
  const operations: Operation[] = [];
  for (let i = 0; i < OPERATIONS; i++) {
    const roll = random();
    const moves = operations.flatMap((op, index) =>
      op.kind === 'credit' || op.kind === 'debit' ? [index] : [],
    );
    if (roll < 0.03) operations.push({ kind: 'close', memberId: pick(memberIds) });
    else if (roll < 0.15 && moves.length > 0) operations.push({ kind: 'replay', of: pick(moves) });
    else if (roll < 0.17 && moves.length > 0) operations.push({ kind: 'misuse', of: pick(moves) });
    else {
      const cents = 1 + Math.floor(random() * 20_000);
      operations.push({
        kind: roll < 0.6 ? 'credit' : 'debit',
        memberId: pick(memberIds),
        amount: (cents / 100).toFixed(2),
        key: `op-${i}`,
      });
    }
  }

  const results: Array<Promise<{ transferId: string; replayed: boolean } | null>> = new Array(OPERATIONS);
  const unexpected: unknown[] = [];
  const refusals = new Map<string, number>();
  const actors = [owner.actor, admin.actor];

  async function perform(index: number): Promise<{ transferId: string; replayed: boolean } | null> {
    const op = operations[index]!;
    const actor = actors[index % 2]!;
    const services = processes[index % PROCESSES]!;
    try {
      switch (op.kind) {
        case 'credit':
        case 'debit': {
          const r = await services.ledger[op.kind](actor, {
            member: { id: op.memberId },
            amount: op.amount,
            idempotencyKey: op.key,
          });
          return { transferId: r.transferId, replayed: r.replayed };
        }
        case 'close':
          await services.members.close(actor, { id: op.memberId });
          return null;
        case 'replay':
        case 'misuse': {
          // Wait for the original so "same key" is meaningful either way it went.
          await results[op.of]!.catch(() => undefined);
          const original = operations[op.of] as Extract<Operation, { key: string }>;
          const r = await services.ledger[original.kind](actor, {
            member: { id: original.memberId },
            amount: op.kind === 'replay' ? original.amount : `${original.amount}1`,
            idempotencyKey: original.key,
          });
          return { transferId: r.transferId, replayed: r.replayed };
        }
      }
    } catch (error) {
      if (!isDomainError(error)) unexpected.push(error);
      else refusals.set(error.code, (refusals.get(error.code) ?? 0) + 1);
      throw error;
    }
  }

  let next = 0;
  const client = async () => {
    while (next < OPERATIONS) {
      const index = next++;
      results[index] = perform(index);
      await results[index]!.catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  const settled = await Promise.allSettled(results);

  // Only refusals a person can act on reached the callers.
  expect(unexpected).toEqual([]);
  expect(
    [...refusals.keys()].every((code) => ['insufficient_funds', 'conflict', 'not_found'].includes(code)),
  ).toBe(true);

  // Money is conserved: master + every member (closed ones hold 0) = the top-up.
  const totals = await queryOne<{
    master: string;
    members: string;
    negative: string;
    closed_holding: string;
  }>(
    orm.em.fork(),
    `select (select master_balance from teams where id = ?) as master,
            (select coalesce(sum(balance), 0) from members where team_id = ?) as members,
            (select count(*) from members where team_id = ? and balance < 0) as negative,
            (select count(*) from members where team_id = ? and status = 'closed' and balance <> 0) as closed_holding`,
    [team.id, team.id, team.id, team.id],
  );
  expect(BigInt(totals!.master) + BigInt(totals!.members)).toBe(TOP_UP);
  expect(totals!.negative).toBe('0');
  expect(totals!.closed_holding).toBe('0');

  // Every balance is exactly what its transfers say.
  const drift = await queryAll(
    orm.em.fork(),
    `select m.id from members m
      where m.team_id = ? and m.balance <> coalesce((select sum(amount) from transfers where to_member_id = m.id), 0)
                                         - coalesce((select sum(amount) from transfers where from_member_id = m.id), 0)`,
    [team.id],
  );
  expect(drift).toEqual([]);

  // Each key moved money at most once, and every answer for a key names that one transfer.
  const byKey = new Map<string, string>();
  for (const [index, outcome] of settled.entries()) {
    const op = operations[index]!;
    if (outcome.status !== 'fulfilled' || !outcome.value) continue;
    const key =
      op.kind === 'replay' || op.kind === 'misuse'
        ? (operations[op.of] as { key: string }).key
        : (op as { key: string }).key;
    const seen = byKey.get(key);
    if (seen) expect(outcome.value.transferId).toBe(seen);
    else byKey.set(key, outcome.value.transferId);
  }
  const stored = await queryAll<{ idempotency_key: string; id: string }>(
    orm.em.fork(),
    "select idempotency_key, id::text from transfers where team_id = ? and idempotency_key like 'op-%'",
    [team.id],
  );
  expect(stored.length).toBe(byKey.size);
  for (const row of stored) expect(byKey.get(row.idempotency_key)).toBe(row.id);
  // A key that moved money refuses a request with a different amount. (A refused request moves
  // nothing and leaves its key free, so a corrected retry may use it.)
  let misusesChecked = 0;
  for (const [index, outcome] of settled.entries()) {
    const op = operations[index]!;
    if (op.kind !== 'misuse' || settled[op.of]!.status !== 'fulfilled') continue;
    misusesChecked += 1;
    expect(outcome.status).toBe('rejected');
    expect((outcome as PromiseRejectedResult).reason).toMatchObject({ code: 'conflict' });
  }
  expect(misusesChecked).toBeGreaterThan(0);
});

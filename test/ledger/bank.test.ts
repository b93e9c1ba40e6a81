import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServices, type Services } from '../../src/app.ts';
import { handleBalanceLow } from '../../src/ledger/balance-low.ts';
import { createLogger } from '../../src/logger.ts';
import { connectOrm } from '../../src/orm.ts';
import type { Orm } from '../../src/platform/database.ts';
import { queryAll, queryOne } from '../../src/platform/sql.ts';
import { type Actor, memberActor, operator } from '../../src/shared/actor.ts';
import { isDomainError } from '../../src/shared/errors.ts';
import { MICROS_PER_UNIT, microsToDecimal } from '../../src/shared/money.ts';
import { basic, bearer, useHttp } from '../compat/helpers.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { TEST_POSTGRES_URL } from '../helpers/env.ts';
import { type ServiceHarness, seedTeam } from '../helpers/services.ts';
import { expectStatsEqualLog, instantMessaging, runMessagingJobs } from '../messaging/helpers.ts';

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

const harness = {} as ServiceHarness;

beforeAll(async () => {
  db = await createTestDatabase();
  // Enough connections for every client at once, so contention happens in PostgreSQL, not in the pool.
  orm = await connectOrm(db.url, undefined, { pool: { min: 0, max: CLIENTS + 8 } });
  services = createServices(orm);
  processes = Array.from({ length: PROCESSES }, () => createServices(orm));
  Object.assign(harness, { db, orm, services });
});
afterAll(async () => {
  await orm.close(true);
  await db.drop();
});
const http = useHttp(harness);

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

/** PostgreSQL's count of deadlocks it broke in this test's database (counted when backends report). */
async function deadlocksSoFar(): Promise<number> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    const { rows } = await client.query('select deadlocks from pg_stat_database where datname = $1', [
      db.name,
    ]);
    return Number(rows[0]?.deadlocks ?? 0);
  } finally {
    await client.end();
  }
}

type Channel = 'service' | 'native' | 'smsto' | 'textmagic';
type MixedOperation =
  | { kind: 'sms'; member: number; key: string | null; failing: boolean; channel: Channel }
  | { kind: 'credit' | 'debit'; member: number; amount: string; key: string; channel: Channel }
  // Vonage's transfers carry no idempotency key, as on Vonage: they are never replayed.
  | { kind: 'balance-transfer' | 'credit-transfer'; member: number; amount: string; toMember: boolean }
  | { kind: 'replay'; of: number }
  | { kind: 'close'; member: number; channel: Channel }
  | { kind: 'role'; member: number; role: 'admin' | 'user' }
  | { kind: 'handover'; member: number }
  | { kind: 'rotate'; member: number };

const MIXED_OPERATIONS = 500;
const MIXED_MEMBERS = 24;
/** The primary account's credit facility in the mixed load, lent to members by Vonage credit transfers. */
const MIXED_CREDIT_LIMIT = 200n * MICROS_PER_UNIT;

/**
 * The mixed load of a reseller's day, squeezed: SMS charges (a fifth to numbers that fail and are
 * refunded), keyed credits and debits with replays, auto-recharge the sends keep triggering, closes,
 * role changes, ownership handovers and key rotations — through the services and through each API
 * (native /api/v1, SMS.to /v1/team, Textmagic /api/v2, Vonage /accounts: balance and credit
 * transfers, members sharing the master balance) — while workers dispatch, settle and refund
 * messages and run the recharges. No deadlock may happen at all (the lock order of docs/ledger.md),
 * none may reach a caller, and the books must balance: money, and credit limit.
 */
it('holds a mixed load of charges, refunds, moves, auto-recharge, closes and handovers without a deadlock', {
  timeout: 300_000,
}, async () => {
  const deadlocksBefore = await deadlocksSoFar();
  const { team, owner, admin } = await seedTeam(services, { masterBalance: '0' });
  const topUp = 20_000n * MICROS_PER_UNIT;
  await services.ledger.topUp(operator, {
    teamId: team.id,
    amount: microsToDecimal(topUp),
    reference: 'mixed-1',
  });
  await services.ledger.setCreditLimit(operator, {
    teamId: team.id,
    creditLimit: microsToDecimal(MIXED_CREDIT_LIMIT),
  });
  const keys = new Map<number, string>([[admin.id, admin.apiKey]]);
  const keyIds = new Map<number, string>([
    [owner.id, owner.keyId],
    [admin.id, admin.keyId],
  ]);
  const memberIds: number[] = [];
  for (let i = 0; i < MIXED_MEMBERS; i++) {
    // Every fourth member sends from the master balance (Vonage's use_primary_account_balance).
    const shares = i % 4 === 3;
    const { member, apiKey } = await services.members.create(owner.actor, {
      name: `Mixed ${i}`,
      sharesMasterBalance: shares,
    });
    memberIds.push(member.id);
    keys.set(member.id, apiKey);
    keyIds.set(member.id, member.keyId);
    if (shares) continue;
    await services.ledger.credit(owner.actor, { member: { id: member.id }, amount: '20.20' });
    // Every third member recharges just above the line its sends keep crossing.
    if (i % 3 === 0)
      await services.autoRecharge.set(owner.actor, {
        member: { id: member.id },
        threshold: '20',
        amount: '0.5',
      });
  }

  let seed = 20_261_202;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
  const channels: Channel[] = ['service', 'native', 'smsto'];
  const movable = memberIds.filter((_, i) => i % 3 !== 0);
  const operations: MixedOperation[] = [];
  let handovers = 0;
  for (let i = 0; i < MIXED_OPERATIONS; i++) {
    const roll = random();
    const keyed = operations.flatMap((op, index) =>
      (op.kind === 'sms' && op.key) || op.kind === 'credit' || op.kind === 'debit' ? [index] : [],
    );
    const member = pick(memberIds);
    if (roll < 0.45) {
      operations.push({
        kind: 'sms',
        member,
        key: random() < 0.7 ? `mx-sms-${i}` : null,
        failing: random() < 0.2,
        channel: random() < 0.5 ? 'service' : 'native',
      });
    } else if (roll < 0.53 && keyed.length > 0) operations.push({ kind: 'replay', of: pick(keyed) });
    else if (roll < 0.61) {
      operations.push({
        kind: random() < 0.5 ? 'balance-transfer' : 'credit-transfer',
        member: pick(movable),
        amount: ((1 + Math.floor(random() * 1_500)) / 100).toFixed(2),
        toMember: random() < 0.6,
      });
    } else if (roll < 0.85) {
      operations.push({
        kind: random() < 0.6 ? 'credit' : 'debit',
        // Not the members with a rule: only their sends move them, so they keep crossing its line.
        member: pick(movable),
        amount: ((1 + Math.floor(random() * 2_000)) / 100).toFixed(2),
        key: `mx-move-${i}`,
        channel: pick(channels),
      });
    } else if (roll < 0.86)
      operations.push({ kind: 'close', member, channel: pick([...channels, 'textmagic']) });
    else if (roll < 0.9) operations.push({ kind: 'role', member, role: random() < 0.5 ? 'admin' : 'user' });
    else if (roll < 0.91 && handovers < 2) {
      handovers += 1;
      operations.push({ kind: 'handover', member });
    } else if (roll < 0.93) operations.push({ kind: 'rotate', member });
    else operations.push({ kind: 'sms', member, key: null, failing: false, channel: 'native' });
  }

  let ownerId = owner.id;
  const manager = { id: admin.id, email: admin.email!, actor: admin.actor };
  const unexpected: unknown[] = [];
  const answers: Array<Promise<string[] | null>> = new Array(MIXED_OPERATIONS);
  const messaging = (index: number) => processes[index % PROCESSES]!;
  const httpOk = async (
    response: Promise<{ status: number; json: unknown }>,
    ids: (json: never) => string[],
  ) => {
    const res = await response;
    if (res.status >= 500) unexpected.push(res);
    if (res.status >= 400) throw Object.assign(new Error(`HTTP ${res.status}`), { status: res.status });
    return ids(res.json as never);
  };

  async function perform(index: number, op: MixedOperation = operations[index]!): Promise<string[] | null> {
    const svc = messaging(index);
    const managerKey = keys.get(manager.id)!;
    try {
      switch (op.kind) {
        case 'sms': {
          const to = op.failing
            ? `+150055500${String(index % 100).padStart(2, '0')}`
            : `+1415555${2000 + (index % 7000)}`;
          if (op.channel === 'service') {
            const sent = await svc.messaging.send(memberActor(op.member, 'api'), {
              to,
              message: `mixed ${index}`,
              idempotencyKey: op.key,
            });
            return sent.messages.map((m) => m.id);
          }
          return await httpOk(
            http.request('POST', '/api/v1/sms', {
              headers: {
                ...bearer(keys.get(op.member) ?? 'tok_gone'),
                ...(op.key ? { 'idempotency-key': op.key } : {}),
              },
              json: { to, message: `mixed ${index}` },
            }),
            (json: { id: string }) => [String(json.id)],
          );
        }
        case 'credit':
        case 'debit': {
          if (op.channel === 'service') {
            const moved = await svc.ledger[op.kind](manager.actor, {
              member: { id: op.member },
              amount: op.amount,
              idempotencyKey: op.key,
            });
            return [moved.transferId];
          }
          if (op.channel === 'native')
            return await httpOk(
              http.request('POST', `/api/v1/members/${op.member}/${op.kind}`, {
                headers: { ...bearer(managerKey), 'idempotency-key': op.key },
                json: { amount: op.amount },
              }),
              (json: { transfer_id: string }) => [String(json.transfer_id)],
            );
          return await httpOk(
            http.request('GET', `/v1/team/user/${op.member}/${op.kind}?amount=${op.amount}`, {
              headers: { ...bearer(managerKey), 'idempotency-key': op.key },
            }),
            (json: { data: { transfer_id: string } }) => [String(json.data.transfer_id)],
          );
        }
        case 'balance-transfer':
        case 'credit-transfer': {
          // Under the primary account: the current owner's key id; a handover in between is a 404.
          const primary = keyIds.get(ownerId)!;
          const other = keyIds.get(op.member)!;
          return await httpOk(
            http.request('POST', `/accounts/${primary}/${op.kind}s`, {
              headers: basic(keyIds.get(manager.id)!, managerKey),
              json: {
                from: op.toMember ? primary : other,
                to: op.toMember ? other : primary,
                amount: op.amount,
              },
            }),
            (json: { balance_transfer_id?: string; credit_transfer_id?: string }) => [
              String(json.balance_transfer_id ?? json.credit_transfer_id),
            ],
          );
        }
        case 'replay': {
          await answers[op.of]!.catch(() => undefined);
          return await perform(index, operations[op.of]!);
        }
        case 'close': {
          if (op.channel === 'service') await svc.members.close(manager.actor, { id: op.member });
          else if (op.channel === 'native')
            await httpOk(
              http.request('DELETE', `/api/v1/members/${op.member}`, { headers: bearer(managerKey) }),
              () => [],
            );
          else if (op.channel === 'smsto')
            await httpOk(
              http.request('DELETE', `/v1/team/user/${op.member}/delete`, { headers: bearer(managerKey) }),
              () => [],
            );
          else
            await httpOk(
              http.request('DELETE', `/api/v2/subaccounts/${op.member}`, {
                headers: basic(manager.email, managerKey),
              }),
              () => [],
            );
          return null;
        }
        case 'role':
        case 'handover': {
          const decider: Actor = memberActor(ownerId, 'api');
          const request = await svc.approvals.request(decider, {
            member: { id: op.member },
            role: op.kind === 'handover' ? 'owner' : op.role,
          });
          const decided = await svc.approvals.approve(decider, request.id);
          if (op.kind === 'handover' && decided.request.status === 'approved') ownerId = op.member;
          return null;
        }
        case 'rotate': {
          const { apiKey } = await svc.members.rotateKey(manager.actor, { id: op.member });
          keys.set(op.member, apiKey);
          return null;
        }
      }
    } catch (error) {
      if (!isDomainError(error) && !(error as { status?: number }).status) unexpected.push(error);
      throw error;
    }
  }

  // Workers, alongside the callers: dispatch, settle and refund messages; run the recharges.
  const worker = instantMessaging(orm);
  const logger = createLogger('silent');
  const runBalanceLow = async (): Promise<number> => {
    const claimed = await queryAll<{
      id: string;
      payload: { teamId: number; memberId: number; transferId: string };
    }>(
      orm.em.fork(),
      `update outbox set dispatched_at = now()
        where id in (select id from outbox where dispatched_at is null and job = ? order by id for update skip locked)
        returning id::text as id, payload`,
      ['member.balance_low'],
    );
    for (const job of claimed) await handleBalanceLow(orm, logger, job.payload, `outbox-${job.id}`);
    return claimed.length;
  };
  const work = async () => (await runMessagingJobs(orm, worker)) + (await runBalanceLow());
  let loadDone = false;
  const workers = Array.from({ length: 2 }, async () => {
    while (!loadDone) {
      try {
        if ((await work()) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      } catch (error) {
        unexpected.push(error);
      }
    }
  });

  let next = 0;
  const client = async () => {
    while (next < MIXED_OPERATIONS) {
      const index = next++;
      answers[index] = perform(index);
      await answers[index]!.catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  loadDone = true;
  await Promise.all(workers);
  while ((await work()) > 0);
  const settled = await Promise.allSettled(answers);

  // Nothing but a refusal a person can act on reached a caller.
  expect(unexpected).toEqual([]);

  // Every micro-unit is where the ledger says: master + members + charged − refunded = top-ups.
  const em = orm.em.fork();
  const books = await queryOne<Record<string, string>>(
    em,
    `select (select master_balance from teams where id = :team) as master,
            (select coalesce(sum(balance), 0) from members where team_id = :team) as members,
            (select count(*) from members where team_id = :team and balance < -credit_limit) as beyond_limit,
            (select count(*) from transfers where team_id = :team and member_balance_after < 0) as into_credit,
            (select count(*) from members where team_id = :team and status = 'closed' and (balance <> 0 or credit_limit <> 0))
              as closed_holding,
            (select count(*) from members where team_id = :team and status = 'closed') as closed,
            (select credit_limit + (select coalesce(sum(credit_limit), 0) from members where team_id = :team)
               from teams where id = :team) as credit_limits,
            (select count(*) from transfers where team_id = :team and kind = 'credit_limit_transfer') as credit_transfers,
            (select count(*) from transfers where team_id = :team and kind = 'master_message_charge' and from_member_id in
               (select id from members where team_id = :team and shares_master_balance)) as shared_charges,
            (select coalesce(sum(amount) filter (where kind = 'master_topup'), 0) from transfers where team_id = :team) as topups,
            (select coalesce(sum(amount) filter (where kind in ('message_charge', 'master_message_charge')), 0)
               from transfers where team_id = :team) as charged,
            (select coalesce(sum(amount) filter (where kind in ('refund', 'master_refund')), 0)
               from transfers where team_id = :team) as refunded,
            (select count(*) from transfers where team_id = :team and kind = 'auto_recharge') as recharges,
            (select count(*) from transfers where team_id = :team and kind in ('refund', 'master_refund')) as refunds,
            (select count(*) from messages where team_id = :team and status = 'failed') as failures,
            (select count(*) from messages where team_id = :team and status in ('queued', 'sent')) as unsettled`.replaceAll(
      ':team',
      String(team.id),
    ),
  );
  expect(
    BigInt(books!.master!) + BigInt(books!.members!) + BigInt(books!.charged!) - BigInt(books!.refunded!),
  ).toBe(BigInt(books!.topups!));
  expect(BigInt(books!.topups!)).toBe(topUp);
  expect(books).toMatchObject({ beyond_limit: '0', closed_holding: '0', unsettled: '0' });
  // Credit limit moved but was neither made nor lost: the primary's own plus its members' is what
  // the operator granted.
  expect(BigInt(books!.credit_limits!)).toBe(MIXED_CREDIT_LIMIT);
  expect(Number(books!.credit_transfers)).toBeGreaterThan(0);
  expect(Number(books!.into_credit)).toBeGreaterThan(0);
  expect(Number(books!.shared_charges)).toBeGreaterThan(0);
  expect(books!.refunds).toBe(books!.failures);
  // The load did what it is for: failures refunded, recharges run, members closed, ownership handed over.
  expect(Number(books!.failures)).toBeGreaterThan(0);
  expect(Number(books!.recharges)).toBeGreaterThan(0);
  expect(Number(books!.closed)).toBeGreaterThan(0);
  expect(ownerId).not.toBe(owner.id);

  // Every member balance is what its transfers say (the owner's messages move the master balance).
  const drift = await queryAll(
    em,
    `select m.id from members m
      where m.team_id = ? and m.balance <>
            coalesce((select sum(amount) from transfers where to_member_id = m.id
                        and kind not in ('master_refund', 'credit_limit_transfer')), 0)
          - coalesce((select sum(amount) from transfers where from_member_id = m.id
                        and kind not in ('master_message_charge', 'credit_limit_transfer')), 0)
         or m.credit_limit <>
            coalesce((select sum(amount) from transfers where to_member_id = m.id and kind = 'credit_limit_transfer'), 0)
          - coalesce((select sum(amount) from transfers where from_member_id = m.id and kind = 'credit_limit_transfer'), 0)`,
    [team.id],
  );
  expect(drift).toEqual([]);
  // Messages = log = statistics; every charge is its messages, every refund one failed message.
  await expectStatsEqualLog(orm, team.id);

  // Every key acted once: all answers for a key name the same transfer or messages, and it was stored once.
  const byKey = new Map<string, string>();
  for (const [index, outcome] of settled.entries()) {
    const op = operations[index]!;
    const original = op.kind === 'replay' ? operations[op.of]! : op;
    if (outcome.status !== 'fulfilled' || !outcome.value || !('key' in original) || !original.key) continue;
    const answer = outcome.value.join(',');
    const seen = byKey.get(original.key);
    if (seen) expect(answer).toBe(seen);
    else byKey.set(original.key, answer);
  }
  const moved = await queryAll<{ idempotency_key: string; id: string }>(
    em,
    "select idempotency_key, id::text from transfers where team_id = ? and idempotency_key like 'mx-move-%'",
    [team.id],
  );
  expect(moved.length).toBe([...byKey.keys()].filter((k) => k.startsWith('mx-move-')).length);
  for (const row of moved) expect(byKey.get(row.idempotency_key)).toBe(row.id);
  const sentTwice = await queryAll(
    em,
    `select request_key from messages where team_id = ? and request_key like 'mx-sms-%'
      group by request_key having count(distinct charge_transfer_id) > 1 or count(*) > 1`,
    [team.id],
  );
  expect(sentTwice).toEqual([]);

  // No deadlock happened at all. PostgreSQL counts them as backends report, at the latest when
  // they end: close the pool's connections first.
  await orm.close(true);
  expect((await deadlocksSoFar()) - deadlocksBefore).toBe(0);
  orm = await connectOrm(db.url, undefined, { pool: { min: 0, max: 2 } });
});

import { expect, it } from 'vitest';
import { queryOne } from '../../src/platform/sql.ts';
import { operator } from '../../src/shared/actor.ts';
import { basic, bearer, useHttp } from '../compat/helpers.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

/**
 * The bank test through the compatible APIs: concurrent clients move money at random through
 * SMS.to (credit, debit, delete), Vonage (balance transfers both ways) and Textmagic (close), and
 * afterwards no micro-unit has appeared or vanished and no balance is negative. Refusals (not
 * enough money, a member already closed) are answers, never 5xx.
 */
const h = useServices();
const http = useHttp(h);
const CLIENTS = 12;
const OPERATIONS = 240;
const MEMBERS = 12;

it('conserves money moved concurrently through SMS.to, Vonage and Textmagic', {
  timeout: 120_000,
}, async () => {
  const { team, owner } = await seedTeam(h.services, { masterBalance: '500' });
  const members: { id: number; keyId: string }[] = [];
  for (let i = 0; i < MEMBERS; i++) {
    const { member } = await h.services.members.create(owner.actor, { name: `Bank ${i}` });
    members.push({ id: member.id, keyId: member.keyId });
  }
  const pick = <T>(list: readonly T[]) => list[Math.floor(Math.random() * list.length)]!;
  // Small amounts against a large master balance, so most moves succeed and refusals stay the exception.
  const amount = () => (Math.floor(Math.random() * 500) / 100 + 0.01).toFixed(2);
  const vonageAuth = basic(owner.keyId, owner.apiKey);

  const operations = Array.from({ length: OPERATIONS }, (_, index) => {
    const m = pick(members);
    // Closing comes last, so the moves before it find their members open.
    const roll = index < OPERATIONS - 12 ? Math.random() * 0.9 : 0.9 + Math.random() * 0.1;
    if (roll < 0.3)
      return () =>
        http.request('GET', `/v1/team/user/${m.id}/credit?amount=${amount()}`, {
          headers: bearer(owner.apiKey),
        });
    if (roll < 0.5)
      return () =>
        http.request('GET', `/v1/team/user/${m.id}/debit?amount=${amount()}`, {
          headers: bearer(owner.apiKey),
        });
    if (roll < 0.7)
      return () =>
        http.request('POST', `/accounts/${owner.keyId}/balance-transfers`, {
          headers: vonageAuth,
          json: { from: owner.keyId, to: m.keyId, amount: Number(amount()) },
        });
    if (roll < 0.9)
      return () =>
        http.request('POST', `/accounts/${owner.keyId}/balance-transfers`, {
          headers: vonageAuth,
          json: { from: m.keyId, to: owner.keyId, amount: Number(amount()) },
        });
    if (roll < 0.95)
      return () => http.request('DELETE', `/v1/team/user/${m.id}/delete`, { headers: bearer(owner.apiKey) });
    return () =>
      http.request('DELETE', `/api/v2/subaccounts/${m.id}`, { headers: basic(owner.username, owner.apiKey) });
  });

  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < operations.length) {
        const operation = operations[next++]!;
        statuses.push((await operation()).status);
      }
    }),
  );
  expect(statuses.filter((s) => s >= 500)).toEqual([]);
  expect(statuses.filter((s) => s < 300).length).toBeGreaterThan(OPERATIONS / 2);

  const totals = await queryOne<{ held: string; negative: string; moved: string }>(
    h.orm.em.fork(),
    `select ((select master_balance from teams where id = ?) + (select sum(balance) from members where team_id = ?))::text as held,
            (select count(*) from members where team_id = ? and balance < 0)::text as negative,
            (select count(*) from transfers where team_id = ? and kind in ('credit', 'debit', 'close_out'))::text as moved`,
    [team.id, team.id, team.id, team.id],
  );
  expect(BigInt(totals!.held)).toBe(500_000_000n);
  expect(totals!.negative).toBe('0');
  expect(Number(totals!.moved)).toBeGreaterThan(0);
  expect((await h.services.teams.get(operator, team.id)).masterBalance).toBeGreaterThanOrEqual(0n);
});

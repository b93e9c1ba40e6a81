import { beforeAll, describe, expect, it } from 'vitest';
import * as messagingRoutes from '../../src/http/api/messaging.routes.ts';
import * as statsRoutes from '../../src/http/api/stats.routes.ts';
import { queryAll, queryOne } from '../../src/platform/sql.ts';
import { memberActor, operator } from '../../src/shared/actor.ts';
import { ConflictError } from '../../src/shared/errors.ts';
import { useApi } from '../helpers/api.ts';
import { clearOfUtcMidnight } from '../helpers/clock.ts';
import { useServices } from '../helpers/services.ts';
import {
  expectStatsEqualLog,
  FAILING,
  GERMAN,
  instantMessaging,
  runMessagingJobs,
  teamWithPrice,
} from './helpers.ts';

/** A member sharing the master balance (Vonage's use_primary_account_balance) sends from it. */
const h = useServices();
const api = useApi(h, [messagingRoutes, statsRoutes]);

beforeAll(() => {
  h.services.messaging = instantMessaging(h.orm);
});

async function teamWithSharedMember(masterBalance: string) {
  const seeded = await teamWithPrice(h.services, masterBalance);
  const created = await h.services.members.create(seeded.owner.actor, {
    name: 'Shared',
    sharesMasterBalance: true,
  });
  const shared = { ...created.member, apiKey: created.apiKey, actor: memberActor(created.member.id, 'api') };
  return { ...seeded, shared };
}

const master = async (teamId: number) => (await h.services.teams.get(operator, teamId)).masterBalance;

/** Everything that came in equals what is held plus what left through charges net of refunds. */
async function expectConserved(teamId: number) {
  const row = await queryOne<{ topups: string; held: string; charged: string; refunded: string }>(
    h.orm.em.fork(),
    `select (select coalesce(sum(amount), 0) from transfers where team_id = ? and kind = 'master_topup')::text as topups,
            ((select master_balance from teams where id = ?) + (select coalesce(sum(balance), 0) from members where team_id = ?))::text as held,
            (select coalesce(sum(amount), 0) from transfers where team_id = ? and kind in ('message_charge', 'master_message_charge'))::text as charged,
            (select coalesce(sum(amount), 0) from transfers where team_id = ? and kind in ('refund', 'master_refund'))::text as refunded`,
    [teamId, teamId, teamId, teamId, teamId],
  );
  expect(BigInt(row!.topups)).toBe(BigInt(row!.held) + BigInt(row!.charged) - BigInt(row!.refunded));
}

describe('a member sharing the master balance', () => {
  it('is charged from the master balance; the message is in its log, statistics and audit', async () => {
    await clearOfUtcMidnight(20_000);
    const { team, owner, shared } = await teamWithSharedMember('10');
    const r = await api.call('POST', '/sms', shared.apiKey, { to: GERMAN, message: 'shared' });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ cost: '0.05', balance: '9.95' });
    expect(await master(team.id)).toBe(9_950_000n);
    expect((await h.services.members.show(owner.actor, { id: shared.id })).balance).toBe(0n);

    await runMessagingJobs(h.orm, h.services.messaging);
    const stats = await api.call('GET', '/stats?period=today', owner.apiKey);
    expect(stats.json.members).toEqual([
      expect.objectContaining({
        member: expect.objectContaining({ id: shared.id }),
        messages: 1,
        cost: '0.05',
      }),
    ]);
    const audit = await h.services.audit.list(owner.actor, { limit: 5 });
    expect(audit).toContainEqual(
      expect.objectContaining({ action: 'ledger.master_message_charge', subjectMemberId: shared.id }),
    );
    await expectStatsEqualLog(h.orm, team.id);
    await expectConserved(team.id);
  });

  it('is refused with 402 when the master balance cannot pay, and nothing is charged', async () => {
    const { team, shared } = await teamWithSharedMember('0.07');
    const r = await api.call('POST', '/sms', shared.apiKey, { to: [GERMAN, GERMAN], message: 'two' });
    expect(r.status).toBe(402);
    expect(r.json.error.message).toMatch(/master balance is €0\.07/);
    expect(await master(team.id)).toBe(70_000n);
  });

  it('gets a failed message refunded to the master balance exactly once', async () => {
    const { team, shared } = await teamWithSharedMember('1');
    await h.services.messaging.send(shared.actor, { to: FAILING, message: 'will fail' });
    expect(await master(team.id)).toBe(950_000n);
    await runMessagingJobs(h.orm, h.services.messaging);
    await runMessagingJobs(h.orm, h.services.messaging);
    expect(await master(team.id)).toBe(1_000_000n);
    const refunds = await queryAll(
      h.orm.em.fork(),
      "select kind, amount::text from transfers where team_id = ? and kind in ('refund', 'master_refund')",
      [team.id],
    );
    expect(refunds).toEqual([{ kind: 'master_refund', amount: '50000' }]);
    await expectConserved(team.id);
  });

  it('never takes the master balance below zero when many share it at once', async () => {
    const { team, owner, shared } = await teamWithSharedMember('0.5');
    const second = await h.services.members.create(owner.actor, {
      name: 'Shared 2',
      sharesMasterBalance: true,
    });
    const senders = [shared.actor, memberActor(second.member.id, 'api'), owner.actor];
    const results = await Promise.allSettled(
      Array.from({ length: 18 }, (_, i) =>
        h.services.messaging.send(senders[i % 3]!, { to: GERMAN, message: `m${i}` }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    expect(await master(team.id)).toBe(0n);
    await expectConserved(team.id);
  });

  it('has no balance of its own to credit; switching payment needs a zero balance', async () => {
    const { owner, user, shared } = await teamWithSharedMember('10');
    await expect(
      h.services.ledger.credit(owner.actor, { member: { id: shared.id }, amount: '1' }),
    ).rejects.toThrow(ConflictError);
    // Switching back to its own balance: it starts from zero and sends from it.
    await h.services.members.update(owner.actor, { id: shared.id }, { sharesMasterBalance: false });
    const broke = await api.call('POST', '/sms', shared.apiKey, { to: GERMAN, message: 'own now' });
    expect(broke.status).toBe(402);
    // A member with money of its own must hand it back before sharing the master balance.
    await h.services.ledger.credit(owner.actor, { member: { id: user.id }, amount: '1' });
    await expect(
      h.services.members.update(owner.actor, { id: user.id }, { sharesMasterBalance: true }),
    ).rejects.toThrow(/debit it to the master balance/);
    await h.services.ledger.debit(owner.actor, { member: { id: user.id }, amount: '1' });
    const switched = await h.services.members.update(
      owner.actor,
      { id: user.id },
      { sharesMasterBalance: true },
    );
    expect(switched.sharesMasterBalance).toBe(true);
    // Only managers decide how a member pays.
    await expect(
      h.services.members.update(user.actor, { id: user.id }, { sharesMasterBalance: false }),
    ).rejects.toThrow(/Only the owner and admins/);
  });
});

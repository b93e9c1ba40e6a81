import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { SmstoProvider } from '../../src/messaging/providers/smsto.ts';
import { queryAll, queryOne } from '../../src/platform/sql.ts';
import { operator } from '../../src/shared/actor.ts';
import { clearOfUtcMidnight } from '../helpers/clock.ts';
import { seedTeam, useServices } from '../helpers/services.ts';
import { type FakeSmsto, startFakeSmsto } from './fake-smsto.ts';
import { expectStatsEqualLog, fund, instantMessaging, runMessagingJobs } from './helpers.ts';

const h = useServices();
const DELIVERABLE = '+4917012345678';
const ALWAYS_FAILS = '+15005550042';

async function message(id: string) {
  return queryOne<{
    status: string;
    refunded_at: Date | null;
    error: string | null;
    provider_message_id: string | null;
  }>(h.orm.em.fork(), 'select status, refunded_at, error, provider_message_id from messages where id = ?', [
    id,
  ]);
}

async function balanceOf(memberId: number): Promise<bigint> {
  const row = await queryOne<{ balance: string }>(
    h.orm.em.fork(),
    'select balance from members where id = ?',
    [memberId],
  );
  return BigInt(row!.balance);
}

describe('delivery through the sandbox', () => {
  it('goes queued → sent → delivered; a test number fails and is refunded', async () => {
    // The statistics asked for at the end are today's: the messages must be sent today too.
    await clearOfUtcMidnight(20_000);
    const messaging = instantMessaging(h.orm);
    const { team, owner, user } = await seedTeam(h.services);
    await fund(h.services, owner.actor, user.id, '1');
    await messaging.setPrice(operator, { teamId: team.id, prefix: 'default', price: '0.1' });
    const sent = await messaging.send(user.actor, { to: [DELIVERABLE, ALWAYS_FAILS], message: 'hello' });
    const [ok, bad] = sent.messages.map((m) => m.id) as [string, string];
    expect(await balanceOf(user.id)).toBe(800_000n);

    const summary = await messaging.dispatch([ok, bad]);
    expect(summary).toEqual({ sent: 2, failed: 0, retry: 0 });
    expect((await message(ok))!.status).toBe('sent');
    expect((await message(ok))!.provider_message_id).toBe(`sandbox-${ok}`);

    await runMessagingJobs(h.orm, messaging);
    expect((await message(ok))!.status).toBe('delivered');
    const failed = (await message(bad))!;
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/always fails/);
    expect(failed.refunded_at).not.toBeNull();
    expect(await balanceOf(user.id)).toBe(900_000n);
    await expectStatsEqualLog(h.orm, team.id);

    const stats = await h.services.stats.query(owner.actor, { period: 'today' });
    expect(stats.members).toEqual([
      expect.objectContaining({
        memberId: user.id,
        messages: 2,
        delivered: 1,
        failed: 1,
        cost: 100_000n,
        refunded: 100_000n,
      }),
    ]);
  }, 60_000);

  it('a message that fails after its sender was closed refunds to the master balance', async () => {
    const messaging = instantMessaging(h.orm);
    const { team, owner, user } = await seedTeam(h.services, { masterBalance: '10' });
    await fund(h.services, owner.actor, user.id, '1');
    await messaging.setPrice(operator, { teamId: team.id, prefix: 'default', price: '0.1' });
    const [sent] = (await messaging.send(user.actor, { to: ALWAYS_FAILS, message: 'bye' })).messages;
    await messaging.dispatch([sent!.id]);
    const { returned } = await h.services.members.close(owner.actor, { id: user.id });
    expect(returned).toBe(900_000n);

    await runMessagingJobs(h.orm, messaging);
    expect((await message(sent!.id))!.status).toBe('failed');
    expect(await balanceOf(user.id)).toBe(0n);
    // 10 in, nothing delivered: every micro-unit is back on the master balance.
    expect((await h.services.teams.get(owner.actor)).masterBalance).toBe(10_000_000n);
    const [last] = await h.services.ledger.history(owner.actor, { member: { id: user.id }, limit: 1 });
    expect(last).toMatchObject({ kind: 'close_out', amount: 100_000n });
  });

  it('a failure reported twice, even at the same time, is refunded once', async () => {
    const messaging = instantMessaging(h.orm);
    const { team, owner, user } = await seedTeam(h.services);
    await fund(h.services, owner.actor, user.id, '1');
    const [sent] = (await messaging.send(user.actor, { to: DELIVERABLE, message: 'x' })).messages;
    await messaging.dispatch([sent!.id]);
    const report = {
      provider: 'sandbox',
      providerMessageId: `sandbox-${sent!.id}`,
      status: 'failed' as const,
      error: 'network said no',
    };

    const changed = await Promise.all([
      messaging.recordProviderReport(report),
      messaging.recordProviderReport(report),
      messaging.recordProviderReport(report),
    ]);
    expect(changed.filter(Boolean)).toHaveLength(1);
    expect(await messaging.recordProviderReport(report)).toBe(false);
    // A late "delivered" after the failure changes nothing either.
    expect(await messaging.recordProviderReport({ ...report, status: 'delivered' })).toBe(false);

    const refunds = await queryAll(
      h.orm.em.fork(),
      "select id from transfers where team_id = ? and kind = 'refund'",
      [team.id],
    );
    expect(refunds).toHaveLength(1);
    expect(await balanceOf(user.id)).toBe(1_000_000n);
    await expectStatsEqualLog(h.orm, team.id);
  });

  it('a dispatch job run twice hands each message over once', async () => {
    const messaging = instantMessaging(h.orm);
    const { owner, user } = await seedTeam(h.services);
    await fund(h.services, owner.actor, user.id, '1');
    const [sent] = (await messaging.send(user.actor, { to: DELIVERABLE, message: 'x' })).messages;
    expect(await messaging.dispatch([sent!.id])).toEqual({ sent: 1, failed: 0, retry: 0 });
    expect(await messaging.dispatch([sent!.id])).toEqual({ sent: 0, failed: 0, retry: 0 });
  });
});

describe('delivery through SMS.to (a local fake)', () => {
  let fake: FakeSmsto;
  beforeAll(async () => {
    fake = await startFakeSmsto('smsto-key');
  });
  afterAll(() => fake.close());

  it('a refused message fails and is refunded; an unavailable API leaves it queued for the retry', async () => {
    const messaging = instantMessaging(
      h.orm,
      new SmstoProvider({ apiUrl: fake.url, apiKey: 'smsto-key' }, createLogger('silent')),
    );
    const { team, owner, user } = await seedTeam(h.services);
    await fund(h.services, owner.actor, user.id, '1');
    const ids = (
      await messaging.send(user.actor, { to: [DELIVERABLE, DELIVERABLE], message: 'x' })
    ).messages.map((m) => m.id);

    fake.failNextSends(1, 422, { success: false, message: 'Invalid number' });
    fake.failNextSends(1, 503, { success: false, message: 'Try later' });
    await expect(messaging.dispatch(ids)).rejects.toThrow(/could not be handed/);
    const statuses = await Promise.all(ids.map(async (id) => (await message(id))!.status));
    expect(statuses.sort()).toEqual(['failed', 'queued']);
    expect(await balanceOf(user.id)).toBe(950_000n);

    // The retry hands over only what is still queued; SMS.to then reports it delivered.
    expect(await messaging.dispatch(ids)).toEqual({ sent: 1, failed: 0, retry: 0 });
    const sentRow = await queryOne<{ id: string; provider_message_id: string }>(
      h.orm.em.fork(),
      "select id::text as id, provider_message_id from messages where id in (?, ?) and status = 'sent'",
      ids,
    );
    fake.statuses.set(sentRow!.provider_message_id, 'DELIVERED');
    await runMessagingJobs(h.orm, messaging);
    expect((await message(sentRow!.id))!.status).toBe('delivered');
    await expectStatsEqualLog(h.orm, team.id);
  });

  it('on the last attempt an unreachable provider fails the message and refunds it', async () => {
    const messaging = instantMessaging(
      h.orm,
      new SmstoProvider({ apiUrl: fake.url, apiKey: 'smsto-key' }, createLogger('silent')),
    );
    const { team, owner, user } = await seedTeam(h.services);
    await fund(h.services, owner.actor, user.id, '1');
    const [sent] = (await messaging.send(user.actor, { to: DELIVERABLE, message: 'x' })).messages;
    fake.failNextSends(1, 500, { success: false, message: 'boom' });
    expect(await messaging.dispatch([sent!.id], { lastAttempt: true })).toEqual({
      sent: 0,
      failed: 1,
      retry: 0,
    });
    expect((await message(sent!.id))!.status).toBe('failed');
    expect(await balanceOf(user.id)).toBe(1_000_000n);
    await expectStatsEqualLog(h.orm, team.id);
  });
});

describe('after a random workload the statistics equal the log', () => {
  it('holds for concurrent sends, refusals, deliveries, failures and repeated reports', {
    timeout: 120_000,
  }, async () => {
    // The statistics compared at the end are today's: the workload must not straddle midnight UTC.
    await clearOfUtcMidnight(60_000);
    const messaging = instantMessaging(h.orm);
    const other = instantMessaging(h.orm);
    const { team, owner, admin, user } = await seedTeam(h.services);
    const extra = await h.services.members.create(owner.actor, { name: 'Extra' });
    const senders = [
      admin,
      user,
      {
        id: extra.member.id,
        actor: { kind: 'member' as const, memberId: extra.member.id, via: 'api' as const },
      },
    ];
    for (const s of senders) await fund(h.services, owner.actor, s.id, '3');
    await messaging.setPrice(operator, { teamId: team.id, prefix: '49', price: '0.07' });
    await messaging.setPrice(operator, { teamId: team.id, prefix: '1', price: '0.02' });

    let seed = 4242;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    const numbers = [
      DELIVERABLE,
      '+4915112345678',
      '+12025550123',
      ALWAYS_FAILS,
      '+15005550001',
      '+35799123456',
    ];
    const texts = ['hi', 'a'.repeat(200), 'Grüße aus Köln €', 'Olá 😀', 'x'.repeat(400)];

    for (let round = 0; round < 6; round += 1) {
      const sends = Array.from({ length: 25 }, () => {
        const sender = pick(senders);
        const to = Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(numbers));
        return pick([messaging, other])
          .send(sender.actor, { to, message: pick(texts) })
          .catch(() => null);
      });
      await Promise.all(sends);
      await runMessagingJobs(h.orm, messaging, 'message.dispatch');
      // Some outcomes are also pushed by "webhook", twice, racing the status checks.
      const reported = await queryAll<{ provider_message_id: string }>(
        h.orm.em.fork(),
        "select provider_message_id from messages where team_id = ? and status = 'sent' order by random() limit 5",
        [team.id],
      );
      await Promise.all([
        runMessagingJobs(h.orm, other),
        ...reported.flatMap((m) => {
          const report = {
            provider: 'sandbox',
            providerMessageId: m.provider_message_id,
            status: pick(['delivered', 'failed'] as const),
            error: 'reported by webhook',
          };
          return [messaging.recordProviderReport(report), other.recordProviderReport(report)];
        }),
      ]);
    }
    await runMessagingJobs(h.orm, messaging);

    const counts = await queryOne<{ total: string; failed: string; open: string }>(
      h.orm.em.fork(),
      `select count(*) as total, count(*) filter (where status = 'failed') as failed,
              count(*) filter (where status in ('queued', 'sent')) as open
         from messages where team_id = ?`,
      [team.id],
    );
    expect(Number(counts!.total)).toBeGreaterThan(50);
    expect(Number(counts!.failed)).toBeGreaterThan(0);
    expect(counts!.open).toBe('0');
    await expectStatsEqualLog(h.orm, team.id);

    // What the stats service answers is the same as an aggregate over the log.
    const stats = await h.services.stats.query(owner.actor, { period: 'today' });
    const log = await queryOne<{ messages: string; parts: string; net: string }>(
      h.orm.em.fork(),
      `select count(*) as messages, sum(parts) as parts,
              coalesce(sum(cost) filter (where refunded_at is null), 0) as net
         from messages where team_id = ?`,
      [team.id],
    );
    expect(stats.team).toMatchObject({
      messages: Number(log!.messages),
      parts: Number(log!.parts),
      cost: BigInt(log!.net),
    });
    // And no money appeared or vanished: balances plus what messages cost equal what was credited.
    const balances = await Promise.all(senders.map((s) => balanceOf(s.id)));
    expect(balances.reduce((a, b) => a + b, 0n) + BigInt(log!.net)).toBe(9_000_000n);
  });
});

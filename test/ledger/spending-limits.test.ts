import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import * as membersRoutes from '../../src/http/api/members.routes.ts';
import * as messagingRoutes from '../../src/http/api/messaging.routes.ts';
import type { MessagingService } from '../../src/messaging/messaging.service.ts';
import { queryAll, queryOne, run } from '../../src/platform/sql.ts';
import { memberActor, operator } from '../../src/shared/actor.ts';
import {
  ForbiddenError,
  isDomainError,
  SpendingLimitError,
  ValidationError,
} from '../../src/shared/errors.ts';
import { useApi } from '../helpers/api.ts';
import { connectTestOrm } from '../helpers/database.ts';
import { TEST_POSTGRES_URL } from '../helpers/env.ts';
import { seedTeam, useServices } from '../helpers/services.ts';
import { FAILING, fund, GERMAN, instantMessaging, runMessagingJobs } from '../messaging/helpers.ts';

const h = useServices();
const api = useApi(h, [membersRoutes, messagingRoutes]);

beforeAll(() => {
  h.services.messaging = instantMessaging(h.orm);
});

/** A team whose SMS cost 0.05 each, and its user funded with 10. */
async function pricedTeam() {
  const seeded = await seedTeam(h.services);
  await h.services.messaging.setPrice(operator, { teamId: seeded.team.id, prefix: 'default', price: '0.05' });
  await fund(h.services, seeded.owner.actor, seeded.user.id, '10');
  return seeded;
}

async function balanceOf(memberId: number): Promise<bigint> {
  const row = await queryOne<{ balance: string }>(
    h.orm.em.fork(),
    'select balance from members where id = ?',
    [memberId],
  );
  return BigInt(row!.balance);
}

async function countMessages(memberId: number): Promise<number> {
  const row = await queryOne<{ n: string }>(
    h.orm.em.fork(),
    'select count(*) as n from messages where member_id = ?',
    [memberId],
  );
  return Number(row!.n);
}

/** Charges minus refunds of the member since the team's month began, from the transfers themselves. */
async function netSpendFromTransfers(memberId: number): Promise<bigint> {
  const row = await queryOne<{ net: string }>(
    h.orm.em.fork(),
    `select coalesce(sum(case when tr.kind in ('message_charge', 'master_message_charge') then tr.amount
                              else -tr.amount end), 0) as net
       from transfers tr join teams t on t.id = tr.team_id
      where tr.created_at >= date_trunc('month', now() at time zone t.timezone) at time zone t.timezone
        and ((tr.kind in ('message_charge', 'master_message_charge') and tr.from_member_id = ?)
          or (tr.kind in ('refund', 'master_refund') and tr.to_member_id = ?))`,
    [memberId, memberId],
  );
  return BigInt(row!.net);
}

const send = (messaging: MessagingService, actor: Parameters<MessagingService['send']>[0], to = GERMAN) =>
  messaging.send(actor, { to, message: 'hi' });

describe('setting a monthly spending limit', () => {
  it('is for the owner and admins, shows this month’s spend and what is left, and is audited', async () => {
    const { owner, admin, user } = await pricedTeam();
    await send(h.services.messaging, user.actor);
    await send(h.services.messaging, user.actor);

    const set = await h.services.spendingLimits.set(admin.actor, { member: { id: user.id }, amount: '1' });
    // What was spent before the limit counts.
    expect(set).toMatchObject({ monthlyLimit: 1_000_000n, spent: 100_000n, remaining: 900_000n });
    await h.services.spendingLimits.set(owner.actor, { member: { email: user.email! }, amount: '2.5' });
    const shown = await h.services.members.show(user.actor, { id: user.id });
    expect(shown.spendingLimit).toMatchObject({
      monthlyLimit: 2_500_000n,
      spent: 100_000n,
      remaining: 2_400_000n,
    });

    await expect(
      h.services.spendingLimits.set(user.actor, { member: { id: user.id }, amount: '100' }),
    ).rejects.toThrow(ForbiddenError);
    await expect(
      h.services.spendingLimits.set(owner.actor, { member: { id: user.id }, amount: '-1' }),
    ).rejects.toMatchObject({ code: 'validation', field: 'amount' });
    await expect(
      h.services.spendingLimits.set(owner.actor, { member: { id: user.id }, amount: '5', period: 'weekly' }),
    ).rejects.toThrow(ValidationError);

    expect(await h.services.spendingLimits.off(owner.actor, { id: user.id })).toMatchObject({
      removed: true,
    });
    expect(await h.services.spendingLimits.off(owner.actor, { id: user.id })).toMatchObject({
      removed: false,
    });
    expect((await h.services.members.show(owner.actor, { id: user.id })).spendingLimit).toBeNull();

    const audit = await queryAll<{ action: string; details: Record<string, unknown> }>(
      h.orm.em.fork(),
      `select action, details from audit_events where subject_member_id = ? and action like 'spending_limit.%' order by id`,
      [user.id],
    );
    expect(audit).toEqual([
      { action: 'spending_limit.set', details: { before: null, after: { monthlyLimit: '1000000' } } },
      {
        action: 'spending_limit.set',
        details: { before: { monthlyLimit: '1000000' }, after: { monthlyLimit: '2500000' } },
      },
      { action: 'spending_limit.off', details: { before: { monthlyLimit: '2500000' } } },
    ]);
  });

  it('is set, shown and removed through the API', async () => {
    const { owner, user } = await pricedTeam();
    const put = await api.call('PUT', `/members/${user.id}/spending-limit`, owner.apiKey, {
      amount: '3',
      period: 'monthly',
    });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({ monthly: '3.00', spent_this_month: '0.00', remaining: '3.00' });
    expect(put.json.month).toMatch(/^\d{4}-\d{2}$/);
    await send(h.services.messaging, user.actor);

    const own = await api.call('GET', `/members/${user.id}`, user.apiKey);
    expect(own.json.spending_limit).toMatchObject({
      monthly: '3.00',
      spent_this_month: '0.05',
      remaining: '2.95',
    });

    const bad = await api.call('PUT', `/members/${user.id}/spending-limit`, owner.apiKey, { amount: 'lots' });
    expect(bad.status).toBe(422);
    expect(bad.json.error.field).toBe('amount');
    const byUser = await api.call('PUT', `/members/${user.id}/spending-limit`, user.apiKey, {
      amount: '100',
    });
    expect(byUser.status).toBe(403);

    expect((await api.call('DELETE', `/members/${user.id}/spending-limit`, owner.apiKey)).status).toBe(204);
    expect((await api.call('GET', `/members/${user.id}`, owner.apiKey)).json.spending_limit).toBeNull();
  });
});

describe('a send over the limit', () => {
  it('is refused before anything is charged: 402 naming the limit and what is left this month', async () => {
    const { owner, user } = await pricedTeam();
    await h.services.spendingLimits.set(owner.actor, { member: { id: user.id }, amount: '0.12' });
    expect((await api.call('POST', '/sms', user.apiKey, { to: GERMAN, message: 'one' })).status).toBe(202);
    expect((await api.call('POST', '/sms', user.apiKey, { to: GERMAN, message: 'two' })).status).toBe(202);
    const balance = await balanceOf(user.id);

    const refused = await api.call('POST', '/sms', user.apiKey, { to: GERMAN, message: 'three' });
    expect(refused.status).toBe(402);
    expect(refused.json.error).toEqual({
      code: 'spending_limit',
      message:
        'This send costs €0.05, more than is left of the monthly spending limit of €0.12: €0.02 left this month',
    });
    expect(await balanceOf(user.id)).toBe(balance);
    expect(await countMessages(user.id)).toBe(2);

    // Several recipients in one request: all or nothing, like the balance.
    await h.services.spendingLimits.set(owner.actor, { member: { id: user.id }, amount: '0.2' });
    await expect(
      h.services.messaging.send(user.actor, { to: [GERMAN, GERMAN, GERMAN], message: 'x' }),
    ).rejects.toThrow(SpendingLimitError);
    expect(await countMessages(user.id)).toBe(2);
    await h.services.messaging.send(user.actor, { to: [GERMAN, GERMAN], message: 'x' });
    expect(await netSpendFromTransfers(user.id)).toBe(200_000n);
  });

  it('answers a retry of a send already charged with its replay, even with the limit used up', async () => {
    const { owner, user } = await pricedTeam();
    await h.services.spendingLimits.set(owner.actor, { member: { id: user.id }, amount: '0.05' });
    const headers = { 'Idempotency-Key': 'retry-me' };
    const first = await api.call('POST', '/sms', user.apiKey, { to: GERMAN, message: 'once' }, headers);
    expect(first.status).toBe(202);
    const again = await api.call('POST', '/sms', user.apiKey, { to: GERMAN, message: 'once' }, headers);
    expect(again.status).toBe(202);
    expect(again.json.messages).toEqual(first.json.messages);
    expect(await netSpendFromTransfers(user.id)).toBe(50_000n);
  });

  it('bounds a member that sends from the master balance (Vonage’s shared balance) too', async () => {
    const { team, owner, user } = await seedTeam(h.services);
    await h.services.messaging.setPrice(operator, { teamId: team.id, prefix: 'default', price: '0.05' });
    await h.services.members.update(owner.actor, { id: user.id }, { sharesMasterBalance: true });
    await h.services.spendingLimits.set(owner.actor, { member: { id: user.id }, amount: '0.1' });
    await send(h.services.messaging, user.actor);
    await send(h.services.messaging, user.actor);
    const master = (await h.services.teams.get(owner.actor)).masterBalance;
    await expect(send(h.services.messaging, user.actor)).rejects.toThrow(SpendingLimitError);
    expect((await h.services.teams.get(owner.actor)).masterBalance).toBe(master);
  });
});

describe('refunds', () => {
  it('give room back in the month', async () => {
    const { owner, user } = await pricedTeam();
    await h.services.spendingLimits.set(owner.actor, { member: { id: user.id }, amount: '0.1' });
    await send(h.services.messaging, user.actor, FAILING);
    await send(h.services.messaging, user.actor);
    await expect(send(h.services.messaging, user.actor)).rejects.toThrow(SpendingLimitError);

    await runMessagingJobs(h.orm, h.services.messaging);
    const limit = await h.services.spendingLimits.get(owner.actor, { id: user.id });
    expect(limit).toMatchObject({ spent: 50_000n, remaining: 50_000n });
    await send(h.services.messaging, user.actor);
    await expect(send(h.services.messaging, user.actor)).rejects.toThrow(SpendingLimitError);
    expect(await netSpendFromTransfers(user.id)).toBe(100_000n);
  });
});

describe('under concurrency', () => {
  it('64 concurrent sends against a nearly used-up limit overshoot by nothing', async () => {
    const { owner, user } = await pricedTeam();
    await h.services.spendingLimits.set(owner.actor, { member: { id: user.id }, amount: '1' });
    // 0.77 used: 0.23 left, room for exactly 4 sends of 0.05.
    await h.services.messaging.send(user.actor, { to: Array(15).fill(GERMAN), message: 'bulk' });
    await h.services.spendingLimits.set(owner.actor, { member: { id: user.id }, amount: '0.98' });

    // Eight messaging services stand for eight processes: their charges race in separate transactions.
    const processes = Array.from({ length: 8 }, () => instantMessaging(h.orm));
    const results = await Promise.allSettled(
      Array.from({ length: 64 }, (_, i) => send(processes[i % 8]!, user.actor)),
    );
    const sent = results.filter((r) => r.status === 'fulfilled').length;
    const refusals = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
    expect(refusals.every((e) => e instanceof SpendingLimitError)).toBe(true);
    expect(sent).toBe(4);

    const spent = await netSpendFromTransfers(user.id);
    expect(spent).toBe(950_000n);
    const overshoot = spent > 980_000n ? spent - 980_000n : 0n;
    expect(overshoot).toBe(0n);
    expect(await h.services.spendingLimits.get(owner.actor, { id: user.id })).toMatchObject({
      spent: 950_000n,
      remaining: 30_000n,
    });
    expect(await balanceOf(user.id)).toBe(10_000_000n - 950_000n);
  });
});

describe('months in the team’s timezone', () => {
  it('count the spend since the month began in the team’s zone, and a new month starts with full room', async () => {
    const { owner, user } = await pricedTeam();
    await h.services.teams.setTimezone(owner.actor, { timezone: 'America/New_York' });
    await send(h.services.messaging, user.actor);
    await send(h.services.messaging, user.actor);
    // One charge a minute before New York's month began (still this month in UTC unless New
    // York's month began in UTC's previous month), one a minute after.
    const em = h.orm.em.fork();
    const charges = await queryAll<{ id: string }>(
      em,
      `select id::text as id from transfers where from_member_id = ? and kind = 'message_charge' order by id`,
      [user.id],
    );
    const monthStart = `(date_trunc('month', now() at time zone 'America/New_York') at time zone 'America/New_York')`;
    await run(em, `update transfers set created_at = ${monthStart} - interval '1 minute' where id = ?`, [
      charges[0]!.id,
    ]);
    await run(em, `update transfers set created_at = ${monthStart} + interval '1 minute' where id = ?`, [
      charges[1]!.id,
    ]);

    const set = await h.services.spendingLimits.set(owner.actor, { member: { id: user.id }, amount: '1' });
    expect(set.spent).toBe(50_000n);
    const newYorkMonth = new Intl.DateTimeFormat('en-CA', {
      timeZone: 'America/New_York',
      year: 'numeric',
      month: '2-digit',
    }).format(new Date());
    expect(set.month).toBe(newYorkMonth.slice(0, 7));

    // In a zone 5 hours ahead of New York (UTC), both charges may fall in this month: the
    // month is recounted in the new zone.
    const utc = await h.services.teams.setTimezone(owner.actor, { timezone: 'Etc/UTC' });
    // Intl's canonical spelling is what is stored.
    expect(utc.timezone).toBe('UTC');
    const utcCount = await queryOne<{ n: string }>(
      em,
      `select count(*) as n from transfers where from_member_id = ? and kind = 'message_charge'
          and created_at >= date_trunc('month', now() at time zone 'UTC') at time zone 'UTC'`,
      [user.id],
    );
    expect((await h.services.spendingLimits.get(owner.actor, { id: user.id }))!.spent).toBe(
      BigInt(utcCount!.n) * 50_000n,
    );

    // The month's spend is kept by month: once the month is over, its spend no longer counts.
    await h.services.spendingLimits.set(owner.actor, { member: { id: user.id }, amount: '0.1' });
    await expect(
      h.services.messaging.send(user.actor, { to: [GERMAN, GERMAN, GERMAN], message: 'x' }),
    ).rejects.toThrow(SpendingLimitError);
    await run(
      em,
      `update member_monthly_spend set month = (month - interval '1 month')::date where member_id = ?`,
      [user.id],
    );
    await h.services.messaging.send(user.actor, { to: [GERMAN, GERMAN], message: 'x' });
  });

  it('refuses a zone that is not one, naming it', async () => {
    const { owner } = await pricedTeam();
    await expect(
      h.services.teams.setTimezone(owner.actor, { timezone: 'Mars/Olympus' }),
    ).rejects.toMatchObject({
      code: 'validation',
      message: expect.stringContaining('"Mars/Olympus" is not a time zone'),
    });
    expect((await h.services.teams.get(owner.actor)).timezone).toBe('UTC');
  });
});

describe('the 80% warning', () => {
  it('goes to the alerts channel once per month per member, through the outbox', async () => {
    const { team, owner, user } = await pricedTeam();
    await h.services.teams.setAlerts(owner.actor, { channel: 'C0ALERTS' });
    await h.services.spendingLimits.set(owner.actor, { member: { id: user.id }, amount: '1' });
    const warnings = async () =>
      (
        await queryAll<{ payload: { channel: string; text: string } }>(
          h.orm.em.fork(),
          `select payload from outbox where job = 'slack.post' and payload->>'text' like 'Spending limit:%'
              and (payload->>'teamId')::int = ? order by id`,
          [team.id],
        )
      ).map((row) => row.payload);

    await h.services.messaging.send(user.actor, { to: Array(15).fill(GERMAN), message: 'bulk' });
    expect(await warnings()).toEqual([]);
    await send(h.services.messaging, user.actor);
    const [warning, ...more] = await warnings();
    expect(more).toEqual([]);
    expect(warning).toMatchObject({
      channel: 'C0ALERTS',
      text: expect.stringContaining('has spent €0.80 of its €1.00 monthly limit (80%); €0.20 left'),
    });

    // A refund takes it under 80% and a send over it again: still one warning this month.
    await send(h.services.messaging, user.actor, FAILING);
    await runMessagingJobs(h.orm, h.services.messaging);
    await send(h.services.messaging, user.actor);
    expect(await warnings()).toHaveLength(1);

    // Next month (its spend row starts afresh) it may warn again.
    await run(
      h.orm.em.fork(),
      `update member_monthly_spend set month = (month - interval '1 month')::date where member_id = ?`,
      [user.id],
    );
    await h.services.messaging.send(user.actor, { to: Array(16).fill(GERMAN), message: 'bulk' });
    expect(await warnings()).toHaveLength(2);
  });
});

describe('a limit set while a charge waits for the member', () => {
  /**
   * Plays `set`'s transaction by hand and holds it open: the member's row locked, the limit
   * written, the month counted from the transfers. A send started now waits for the member, with
   * its view of the database taken before the limit existed; once the limit commits, the send
   * must still count against it.
   */
  async function limitSetWhileSendWaits(memberId: number, actor: Parameters<MessagingService['send']>[0]) {
    const setter = new pg.Client({ connectionString: h.db.url });
    await setter.connect();
    try {
      await setter.query('begin');
      await setter.query('select id from members where id = $1 for no key update', [memberId]);
      await setter.query(
        `insert into spending_limits (member_id, team_id, monthly_limit, created_at, updated_at)
         select id, team_id, 4000000, now(), now() from members where id = $1`,
        [memberId],
      );
      await setter.query(
        `insert into member_monthly_spend (member_id, month, spent)
         select m.id, date_trunc('month', now() at time zone t.timezone)::date, 0
           from members m join teams t on t.id = m.team_id where m.id = $1`,
        [memberId],
      );
      const sending = h.services.messaging.send(actor, { to: GERMAN, message: 'while the limit is set' });
      const watcher = h.orm.em.fork();
      for (let i = 0; ; i += 1) {
        const waiting = await queryOne<{ n: string }>(
          watcher,
          `select count(*) as n from pg_stat_activity
            where datname = current_database() and wait_event_type = 'Lock'`,
        );
        if (Number(waiting!.n) > 0) break;
        if (i > 200) throw new Error('the send never waited for the member');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await setter.query('commit');
      return await sending;
    } finally {
      await setter.end();
    }
  }

  it('counts a send paid from its own balance (the one-statement charge)', async () => {
    const { user } = await pricedTeam();
    await limitSetWhileSendWaits(user.id, user.actor);
    const limit = await h.services.spendingLimits.get(user.actor, { id: user.id });
    expect(limit!.spent).toBe(50_000n);
    expect(limit!.spent).toBe(await netSpendFromTransfers(user.id));
  });

  it('counts a send paid from the master balance (the batched charge)', async () => {
    const { team, owner, user } = await seedTeam(h.services, { masterBalance: '10' });
    await h.services.messaging.setPrice(operator, { teamId: team.id, prefix: 'default', price: '0.05' });
    await h.services.members.update(owner.actor, { id: user.id }, { sharesMasterBalance: true });
    await limitSetWhileSendWaits(user.id, user.actor);
    const limit = await h.services.spendingLimits.get(user.actor, { id: user.id });
    expect(limit!.spent).toBe(50_000n);
    expect(limit!.spent).toBe(await netSpendFromTransfers(user.id));
  });
});

describe('deadlock freedom', () => {
  /** PostgreSQL's count of deadlocks it broke in this file's database (counted when backends report). */
  async function deadlocksSoFar(): Promise<number> {
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
    await client.connect();
    try {
      const { rows } = await client.query('select deadlocks from pg_stat_database where datname = $1', [
        h.db.name,
      ]);
      return Number(rows[0]?.deadlocks ?? 0);
    } finally {
      await client.end();
    }
  }

  it('holds a mixed load of limited charges, refunds, limit changes, timezone changes and credits', {
    timeout: 180_000,
  }, async () => {
    const deadlocksBefore = await deadlocksSoFar();
    const { team, owner } = await seedTeam(h.services, { masterBalance: '1000' });
    await h.services.messaging.setPrice(operator, { teamId: team.id, prefix: 'default', price: '0.05' });
    const make = async (name: string, shares: boolean) => {
      const { member } = await h.services.members.create(owner.actor, { name });
      if (shares)
        await h.services.members.update(owner.actor, { id: member.id }, { sharesMasterBalance: true });
      else await fund(h.services, owner.actor, member.id, '20');
      await h.services.spendingLimits.set(owner.actor, { member: { id: member.id }, amount: '4' });
      return { id: member.id, actor: memberActor(member.id, 'api') };
    };
    const members = [await make('Own Balance', false), await make('Shared Balance', true)];
    const processes = Array.from({ length: 4 }, () => instantMessaging(h.orm));
    const unexpected: unknown[] = [];
    const expectedRefusal = (e: unknown) =>
      e instanceof SpendingLimitError || (isDomainError(e) && e.code === 'insufficient_funds');

    const senders = members.flatMap(({ actor }) =>
      processes.map(async (messaging, p) => {
        for (let i = 0; i < 25; i += 1) {
          const to = (i + p) % 3 === 0 ? FAILING : GERMAN;
          await messaging.send(actor, { to, message: `m${i}` }).catch((e) => {
            if (!expectedRefusal(e)) unexpected.push(e);
          });
        }
      }),
    );
    const refunds = (async () => {
      for (let i = 0; i < 30; i += 1) await runMessagingJobs(h.orm, processes[i % 4]!);
    })();
    const limitChanges = (async () => {
      for (let i = 0; i < 20; i += 1) {
        const member = { id: members[i % 2]!.id };
        if (i % 5 === 4) await h.services.spendingLimits.off(owner.actor, member);
        else await h.services.spendingLimits.set(owner.actor, { member, amount: String(3 + (i % 4)) });
      }
    })();
    const zones = (async () => {
      for (const timezone of ['Pacific/Kiritimati', 'America/New_York', 'UTC', 'Asia/Kathmandu', 'UTC'])
        await h.services.teams.setTimezone(owner.actor, { timezone });
    })();
    const credits = (async () => {
      for (let i = 0; i < 20; i += 1) await fund(h.services, owner.actor, members[0]!.id, '0.5');
    })();
    await Promise.all([...senders, refunds, limitChanges, zones, credits]);
    while ((await runMessagingJobs(h.orm, processes[0]!)) > 0);
    expect(unexpected).toEqual([]);

    // Every limited member's month equals the ledger's own figure for it.
    for (const { id } of members) {
      await h.services.spendingLimits.set(owner.actor, { member: { id }, amount: '4' });
      const limit = await h.services.spendingLimits.get(owner.actor, { id });
      expect(limit!.spent).toBe(await netSpendFromTransfers(id));
    }
    // Counted when backends report, at the latest when they end: close the pool's connections first.
    await h.orm.close(true);
    expect((await deadlocksSoFar()) - deadlocksBefore).toBe(0);
    h.orm = await connectTestOrm(h.db.url);
  });
});

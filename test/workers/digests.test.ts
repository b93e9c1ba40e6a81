import { describe, expect, it } from 'vitest';
import { DigestService } from '../../src/digests/digest.service.ts';
import { digestSchedulerId } from '../../src/digests/digest-jobs.ts';
import { buildDigest } from '../../src/digests/digest-report.ts';
import { memberActor } from '../../src/shared/actor.ts';
import { formatMoney } from '../../src/shared/money.ts';
import { digestMessage } from '../../src/slack/presenters/digests.ts';
import { seedTeam } from '../helpers/services.ts';
import { useWorkerHarness } from '../helpers/worker-harness.ts';
import { eventually, sleep } from '../helpers/workers.ts';

const h = useWorkerHarness();

function digests() {
  return new DigestService(h.orm);
}

describe('/team digest settings', () => {
  it('refuses what it cannot schedule, naming the field', async () => {
    const { admin, user } = await seedTeam(h.services);
    const configure = (input: Parameters<DigestService['configure']>[1]) =>
      digests().configure(admin.actor, input);
    await expect(configure({ channel: 'CDIG1', frequency: 'hourly' })).rejects.toMatchObject({
      field: 'frequency',
    });
    await expect(configure({ channel: 'CDIG1', frequency: 'daily', time: '25:00' })).rejects.toMatchObject({
      field: 'time',
      message: expect.stringContaining('HH:MM'),
    });
    await expect(
      configure({ channel: 'CDIG1', frequency: 'daily', timezone: 'Mars/Olympus' }),
    ).rejects.toMatchObject({
      field: 'timezone',
      message: expect.stringContaining('Mars/Olympus'),
    });
    await expect(configure({ channel: 'general', frequency: 'daily' })).rejects.toMatchObject({
      field: 'channel',
    });
    await expect(
      digests().configure(user.actor, { channel: 'CDIG1', frequency: 'daily' }),
    ).rejects.toMatchObject({
      code: 'forbidden',
    });
  });

  it('upserts the team job scheduler with cron and time zone, and removes it when turned off', async () => {
    const { team, admin } = await seedTeam(h.services);
    const settings = await digests().configure(admin.actor, {
      channel: 'CDIG2',
      frequency: 'weekly',
      time: '7:05',
      timezone: 'europe/athens',
    });
    expect(settings).toEqual({
      teamId: team.id,
      channel: 'CDIG2',
      frequency: 'weekly',
      time: '07:05',
      timezone: 'Europe/Athens',
    });
    const schedule = await eventually(() => h.queues.getSchedule('digests', digestSchedulerId(team.id)));
    expect(schedule).toMatchObject({ cron: '5 7 * * 1', timezone: 'Europe/Athens' });
    const local = new Intl.DateTimeFormat('en-GB', {
      timeZone: 'Europe/Athens',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(schedule.nextRunAt);
    expect(local).toBe('Mon 07:05');

    await digests().configure(admin.actor, {
      channel: 'CDIG3',
      frequency: 'daily',
      time: '18:30',
      timezone: 'UTC',
    });
    await eventually(
      async () => (await h.queues.getSchedule('digests', digestSchedulerId(team.id)))?.cron === '30 18 * * *',
    );

    expect(await digests().configure(admin.actor, { frequency: 'off' })).toMatchObject({
      frequency: null,
      channel: null,
    });
    await eventually(
      async () => (await h.queues.getSchedule('digests', digestSchedulerId(team.id))) === undefined,
      {
        message: 'scheduler removed',
      },
    );
  });
});

describe('the digest', () => {
  it('sums the period, ranks members by messages and cost, lists low balances, and compares with the period before', async () => {
    const { team, owner, admin, user } = await seedTeam(h.services);
    await digests().configure(admin.actor, { channel: 'CDIG4', frequency: 'daily', time: '09:00' });
    const low = await h.services.members.create(owner.actor, { name: 'Lou Low' });
    await h.services.ledger.credit(admin.actor, { member: { id: low.member.id }, amount: '0.5' });
    await h.services.ledger.credit(admin.actor, { member: { id: user.id }, amount: '10' });
    await h.services.ledger.credit(admin.actor, { member: { id: admin.id }, amount: '10' });
    const send = (memberId: number, message: string) =>
      h.services.messaging.send(memberActor(memberId, 'api'), { to: '+306912345678', message });
    for (let i = 0; i < 4; i++) await send(user.id, `hello ${i}`);
    await send(admin.id, 'x'.repeat(200));
    // Two of the user's messages belong to the day before.
    await h.sql.query(
      `update messages set created_at = now() - interval '30 hours'
        where id in (select id from messages where member_id = $1 order by id limit 2)`,
      [user.id],
    );
    const { rows } = await h.sql.query<{ member_id: number; cost: string; parts: number }>(
      'select member_id, sum(cost)::text as cost, sum(parts)::int as parts from messages where created_at > now() - interval $$1 day$$ group by member_id',
    );
    const costOf = (memberId: number) => BigInt(rows.find((r) => r.member_id === memberId)?.cost ?? 0);

    const report = (await buildDigest(h.orm.em.fork(), team.id, new Date(Date.now() + 60_000)))!;
    expect(report.totals).toEqual({ messages: 3, parts: 4, cost: costOf(user.id) + costOf(admin.id) });
    expect(report.previous.messages).toBe(2);
    expect(report.topByMessages.map((m) => [m.name, m.messages])).toEqual([
      ['Uma User', 2],
      ['Adam Admin', 1],
    ]);
    expect(report.topByCost[0]!.name).toBe('Adam Admin');
    expect(report.lowBalances.map((m) => m.name)).toContain('Lou Low');
    expect(report.lowBalances.map((m) => m.name)).not.toContain('Uma User');

    const message = digestMessage(report);
    expect(message.channel).toBe('CDIG4');
    const cost = formatMoney(report.totals.cost, 'EUR');
    expect(message.text).toBe(
      `Daily digest for ${team.name}: 3 messages (+50% from the previous day), ${cost}.`,
    );
    const body = JSON.stringify(message.blocks);
    expect(body).toContain('3 (+50%)');
    expect(body).toContain('Top members by messages');
    expect(body).toContain('1. Uma User: 2 messages');
    expect(body).toContain('Lou Low: €0.50 (level €1.00)');
  });

  it('a digest scheduled a minute ahead arrives once', async () => {
    const { team, admin } = await seedTeam(h.services);
    const timezone = 'Asia/Kolkata';
    // The next whole minute at least 30 s away, as HH:MM in Kolkata (UTC+05:30).
    const due = new Date(Math.ceil((Date.now() + 30_000) / 60_000) * 60_000);
    const time = new Intl.DateTimeFormat('en-GB', {
      timeZone: timezone,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(due);
    await digests().configure(admin.actor, { channel: 'CDIGNOW', frequency: 'daily', time, timezone });

    const posted = await h.slack.waitFor(
      'chat.postMessage',
      (call) => call.args.channel === 'CDIGNOW',
      100_000,
    );
    const arrivedAt = Date.now();
    // At the minute asked for, not before, and not a minute (or an hour) later: it takes a second
    // or two to build and post, several on a machine under load.
    expect(arrivedAt).toBeGreaterThanOrEqual(due.getTime());
    expect(arrivedAt - due.getTime()).toBeLessThan(30_000);
    expect(posted.args.text).toContain(`Daily digest for ${team.name}`);
    await sleep(3_000);
    expect(
      h.slack.callsTo('chat.postMessage').filter((call) => call.args.channel === 'CDIGNOW'),
    ).toHaveLength(1);
    const next = await h.queues.getSchedule('digests', digestSchedulerId(team.id));
    expect(next!.nextRunAt!.getTime() - due.getTime()).toBe(24 * 3600_000);
  }, 120_000);
});

// biome-ignore-all lint/suspicious/noExplicitAny: Slack payloads are loose JSON; the assertions say what matters.
import { beforeAll, describe, expect, it } from 'vitest';
import * as statsRoutes from '../../src/http/api/stats.routes.ts';
import { memberActor, operator } from '../../src/shared/actor.ts';
import { spendingLimitWarning } from '../../src/slack/presenters/alerts.ts';
import { localDay, periodRange } from '../../src/stats/stats.service.ts';
import { useApi } from '../helpers/api.ts';
import { instantMessaging } from '../messaging/helpers.ts';
import { type SlackTeam, seedSlackTeam, shown, useSlackApp } from './harness.ts';

const h = useSlackApp('T0LIMITS');
const api = useApi(h, [statsRoutes]);
let acme: SlackTeam;

beforeAll(async () => {
  acme = await seedSlackTeam(h);
  h.services.messaging = instantMessaging(h.orm);
  await h.services.messaging.setPrice(operator, { teamId: acme.team.id, prefix: 'default', price: '0.05' });
});

async function run(slackUserId: string, text: string) {
  const res = await h.slack.command(slackUserId, text);
  expect(res.status).toBe(200);
  // A command that cannot be read is answered in the ack itself, with its usage line.
  if (res.json?.text) return { text: String(res.json.text), all: JSON.stringify(res.json) };
  const call = await h.fakeSlack.waitForResponse(res.responseId);
  return { text: String(call.args.text), all: shown(call) };
}

describe('/team timezone', () => {
  it('shows the zone, sets it for managers, and names a zone that is not one', async () => {
    expect((await run('U0ADMIN', 'timezone')).text).toContain("The team's timezone is UTC.");
    expect((await run('U0ADMIN', 'timezone Mars/Olympus')).text).toContain(
      '"Mars/Olympus" is not a time zone',
    );
    expect((await run('U0USER', 'timezone Europe/Athens')).text).toMatch(/:no_entry: .*timezone/);
    expect((await h.services.teams.get(operator, acme.team.id)).timezone).toBe('UTC');

    expect((await run('U0OWNER', 'timezone Europe/Athens')).text).toContain(
      "The team's timezone is now Europe/Athens",
    );
    expect((await h.services.teams.get(operator, acme.team.id)).timezone).toBe('Europe/Athens');
    const audit = await h.services.audit.list(operator, { teamId: acme.team.id, limit: 5 });
    expect(audit.find((e) => e.action === 'team.timezone')?.details).toEqual({
      before: 'UTC',
      after: 'Europe/Athens',
    });
  });

  it('moves the statistics days and periods to the team’s local days', async () => {
    // A zone whose date differs from UTC's right now: 10 hours behind before 10:00 UTC, 14 ahead after.
    const hour = new Date().getUTCHours();
    const msToTen = ((10 - hour + 24) % 24) * 3_600_000 - (Date.now() % 3_600_000);
    if (msToTen > 0 && msToTen < 30_000) await new Promise((resolve) => setTimeout(resolve, msToTen + 250));
    const zone = new Date().getUTCHours() < 10 ? 'Pacific/Honolulu' : 'Pacific/Kiritimati';
    const now = new Date();
    const local = localDay(now, zone);
    expect(local).not.toBe(now.toISOString().slice(0, 10));

    await run('U0OWNER', `timezone ${zone}`);
    const owner = memberActor(acme.owner.id, 'slack');
    await h.services.ledger.credit(owner, { member: { id: acme.user.id }, amount: '1' });
    await h.services.messaging.send(memberActor(acme.user.id, 'api'), {
      to: '+4917012345678',
      message: 'hi',
    });

    const stats = await h.services.stats.query(owner, { period: 'today', groupBy: 'day' });
    expect(stats).toMatchObject({ timezone: zone, from: local, to: local });
    expect(stats.team!.days).toEqual([expect.objectContaining({ day: local, messages: 1 })]);
    const { apiKey } = await h.services.members.rotateKey(owner, { id: acme.owner.id });
    const viaApi = await api.call('GET', '/stats?period=today', apiKey);
    expect(viaApi.json).toMatchObject({ timezone: zone, from: local, to: local, team: { messages: 1 } });
    expect(periodRange('month', now, zone).from).toBe(`${local.slice(0, 8)}01`);

    const slackStats = await run('U0USER', 'stats today');
    expect(slackStats.text).toContain(local);
    expect(slackStats.all).toContain('€0.05');
  });
});

describe('/team limit', () => {
  it('sets a monthly limit shown in /team show and on the App Home, and turns it off', async () => {
    const set = await run('U0ADMIN', 'limit <@U0USER|uma> 5 monthly');
    expect(set.text).toMatch(
      /Spending limit for \*Uma User\* \(#\d+\): €5\.00 a month\. Spent in \d{4}-\d{2}: €0\.\d\d; €4\.\d\d left\./,
    );
    const home = await h.fakeSlack.waitFor(
      'views.publish',
      (c) => c.args.user_id === 'U0ADMIN' && shown(c).includes('Spending limit: €5.00 a month'),
    );
    expect(shown(home)).toContain('Uma User');

    const card = await run('U0USER', 'show <@U0USER>');
    expect(card.all).toContain('Spending limit');
    expect(card.all).toContain('€5.00 a month');

    expect((await run('U0ADMIN', 'limit <@U0USER> 5 weekly')).text).toContain(
      'Spending limits are monthly: write "monthly", not "weekly"',
    );
    expect((await run('U0ADMIN', 'limit <@U0USER> lots monthly')).text).toContain('lots');
    expect((await run('U0USER', 'limit <@U0USER> 50 monthly')).text).toMatch(/:no_entry:/);

    expect((await run('U0ADMIN', 'limit <@U0USER> off')).text).toContain('has no spending limit any more');
    expect((await run('U0ADMIN', 'limit <@U0USER> off')).text).toContain(
      'had no spending limit; nothing changed',
    );
    expect((await run('U0ADMIN', 'show <@U0USER>')).all).not.toContain('a month ·');
  });

  it('is listed by /team help for managers', async () => {
    const help = await run('U0ADMIN', 'help');
    expect(help.all).toContain('/team limit &lt;member&gt; &lt;amount&gt; monthly');
    expect(help.all).toContain('/team timezone &lt;IANA zone&gt;');
  });

  it('warns in Block Kit with the figures', () => {
    const warning = spendingLimitWarning('C0ALERTS', {
      memberId: 7,
      memberName: 'Uma <User>',
      slackUserId: 'U0USER',
      currency: 'EUR',
      month: '2026-12',
      monthlyLimit: 10_000_000n,
      spent: 8_500_000n,
    });
    expect(warning.channel).toBe('C0ALERTS');
    const text = JSON.stringify(warning.blocks);
    expect(text).toContain('*€8.50* of its €10.00 monthly limit (85%)');
    expect(text).toContain('Uma &lt;User&gt; (<@U0USER>)');
    expect(text).toContain('€1.50 left in 2026-12');
  });
});

// biome-ignore-all lint/suspicious/noExplicitAny: Slack payloads are loose JSON; the assertions say what matters.

import { beforeAll, describe, expect, it } from 'vitest';
import { memberActor } from '../../src/shared/actor.ts';
import { formatMoney } from '../../src/shared/money.ts';
import { ACTIONS, VIEWS } from '../../src/slack/ids.ts';
import { memberOfKey } from '../helpers/services.ts';
import type { SlackHttpResult } from '../helpers/slack-requests.ts';
import { type SlackTeam, seedSlackTeam, shown, useSlackApp } from './harness.ts';

const h = useSlackApp('T0COMMANDS');
let acme: SlackTeam;

beforeAll(async () => {
  acme = await seedSlackTeam(h);
});

async function run(slackUserId: string, text: string) {
  const res = await h.slack.command(slackUserId, text);
  expect(res.status).toBe(200);
  return reply(res);
}

async function reply(res: SlackHttpResult) {
  const call = await h.fakeSlack.waitForResponse(res.responseId);
  expect(call.args.response_type ?? 'ephemeral').toBe('ephemeral');
  return { text: String(call.args.text), all: shown(call), args: call.args };
}

const ownerActor = () => memberActor(acme.owner.id, 'slack');

describe('/team balance and /team list', () => {
  it('shows the master balance to managers and their own balance to a user', async () => {
    expect((await run('U0ADMIN', 'balance')).text).toBe('The master balance of *Acme* is *€1,000.00*.');
    expect((await run('U0USER', 'balance')).text).toBe('Your balance is *€0.00*.');
  });

  it('lists members with email, masked key, balance and status, and filters by status', async () => {
    const list = await run('U0OWNER', 'list');
    expect(list.all).toContain('Uma User');
    expect(list.all).toContain('uma@acme.test');
    expect(list.all).toContain(`${acme.user.apiKeyPrefix}••••••••`);
    expect(list.all).toContain('active');
    const invited = await run('U0OWNER', 'list invited');
    expect(invited.all).toContain('No invited members.');
  });

  it('pages a long list and turns pages in place', async () => {
    for (let i = 1; i <= 22; i += 1)
      await h.services.members.create(ownerActor(), { name: `Dept ${String(i).padStart(2, '0')}` });
    const first = await run('U0OWNER', 'list active');
    expect(first.all).toContain('1–20 of 25 active members');
    const next = (first.args.blocks as any[])
      .find((b) => b.type === 'actions')
      .elements.find((e: any) => e.text.text === 'Next →');
    const click = await h.slack.click(
      'U0OWNER',
      { actionId: next.action_id, value: next.value },
      { message: { channel: 'C0GENERAL', ts: '1.1' } },
    );
    const page2 = await h.fakeSlack.waitForResponse(click.responseId);
    expect(page2.args.replace_original).toBe(true);
    expect(shown(page2)).toContain('21–25 of 25 active members');
    expect(shown(page2)).toContain('Dept 22');
  });
});

describe('/team show', () => {
  it('finds a member by mention, email or id', async () => {
    for (const ref of [
      '<@U0USER|uma>',
      'UMA@acme.test',
      '<mailto:uma@acme.test|uma@acme.test>',
      String(acme.user.id),
    ]) {
      const card = await run('U0ADMIN', `show ${ref}`);
      expect(card.all, ref).toContain('Uma User');
      expect(card.all, ref).toContain(`#${acme.user.id}`);
    }
  });

  it('says clearly when nobody matches, and refuses another member to a user', async () => {
    expect((await run('U0ADMIN', 'show nobody@acme.test')).text).toMatch(/:mag: .*nobody@acme.test/);
    const ambiguous = await h.slack.command('U0ADMIN', 'show ann');
    expect(ambiguous.json.text).toContain('names can be ambiguous');
    expect((await run('U0USER', `show ${acme.admin.id}`)).text).toContain(':no_entry:');
    expect((await run('U0USER', 'show <@U0USER>')).all).toContain('Uma User');
  });
});

describe('/team create and /team key', () => {
  it('creates a sub-account and shows its key once, only to the caller, then refreshes their team page', async () => {
    const created = await run('U0ADMIN', 'create Marketing Dept marketing@acme.test');
    const key = /```(tok_[\w-]+)```/.exec(created.all)?.[1];
    expect(key).toBeDefined();
    const member = await memberOfKey(h.services, key!);
    expect(member).toMatchObject({ name: 'Marketing Dept', email: 'marketing@acme.test', status: 'active' });
    // The refresh that shows the new member: one an earlier command set off may land first.
    const home = await h.fakeSlack.waitFor(
      'views.publish',
      (c) => c.args.user_id === 'U0ADMIN' && shown(c).includes('Marketing Dept'),
    );
    expect(shown(home)).not.toContain(key!);
    const leaks = h.fakeSlack.calls.filter(
      (c) => c.method !== 'response_url' && JSON.stringify(c.args).includes(key!),
    );
    expect(leaks).toEqual([]);
  });

  it('refuses a duplicate email and a plain user', async () => {
    expect((await run('U0ADMIN', 'create Again marketing@acme.test')).text).toContain(
      'marketing@acme.test is already a member of this team',
    );
    expect((await run('U0USER', 'create Sneaky')).text).toBe(
      ':no_entry: Only the owner and admins can create members.',
    );
  });

  it('rotates a key: the new one is shown once and the old one stops working', async () => {
    const rotated = await run('U0ADMIN', `key ${acme.user.id}`);
    const key = /```(tok_[\w-]+)```/.exec(rotated.all)?.[1];
    expect((await h.services.members.authenticateApiKey(key!)).id).toBe(acme.user.id);
    const after = await h.services.members.show(ownerActor(), { id: acme.user.id });
    expect(after.apiKeyPrefix).not.toBe(acme.user.apiKeyPrefix);
    expect(rotated.all).toContain('the old one no longer works');
  });

  it('lets a user rotate only their own key', async () => {
    expect((await run('U0USER', `key ${acme.admin.id}`)).text).toContain(':no_entry:');
    expect((await run('U0USER', 'key <@U0USER>')).all).toMatch(/```tok_[\w-]+```/);
  });
});

describe('/team enable and /team disable', () => {
  it('deactivates and reactivates a member', async () => {
    const { member } = await h.services.members.create(ownerActor(), { name: 'Toggle' });
    expect((await run('U0ADMIN', `disable ${member.id}`)).text).toContain(
      'is inactive: its API key is refused',
    );
    expect((await h.services.members.show(ownerActor(), { id: member.id })).status).toBe('inactive');
    expect((await run('U0ADMIN', `enable ${member.id}`)).text).toContain('is active');
    expect((await h.services.members.show(ownerActor(), { id: member.id })).status).toBe('active');
  });

  it('refuses to disable the owner, and refuses a user', async () => {
    expect((await run('U0ADMIN', 'disable <@U0OWNER>')).text).toContain('The owner cannot be disabled');
    expect((await run('U0USER', `disable ${acme.admin.id}`)).text).toContain(':no_entry:');
    expect((await h.services.members.show(ownerActor(), { id: acme.admin.id })).status).toBe('active');
  });
});

describe('/team credit and /team debit', () => {
  it('moves money between master and member, shown in the team currency', async () => {
    const credited = await run('U0ADMIN', 'credit <@U0USER|uma> 12.5 march budget');
    expect(credited.text).toBe(
      `Credited €12.50 to *Uma User* (#${acme.user.id}). Uma User now has *€12.50*; master balance *€987.50*.`,
    );
    const debited = await run('U0OWNER', 'debit uma@acme.test 0.075');
    expect(debited.text).toContain('Debited €0.075 from *Uma User*');
    expect(debited.text).toContain('now has *€12.425*');
    const history = await h.services.ledger.history(ownerActor(), { member: { id: acme.user.id } });
    expect(history.map((t) => [t.kind, t.amount, t.reason, t.via])).toEqual([
      ['debit', 75_000n, null, 'slack'],
      ['credit', 12_500_000n, 'march budget', 'slack'],
    ]);
  });

  it('refuses more than the balance holds, a user, and an outsider, moving nothing', async () => {
    expect((await run('U0ADMIN', `debit ${acme.user.id} 5000`)).text).toMatch(/^:money_with_wings: /);
    expect((await run('U0USER', `credit ${acme.user.id} 100`)).text).toBe(
      ':no_entry: Only the owner and admins can move money.',
    );
    expect((await run('U0OUTSIDER', `credit ${acme.user.id} 100`)).text).toContain(
      'You are not a member of Acme',
    );
    const uma = await h.services.members.show(ownerActor(), { id: acme.user.id });
    expect(uma.balance).toBe(12_425_000n);
  });

  it("refreshes the caller's team page after moving money", async () => {
    await run('U0ADMIN', `credit ${acme.user.id} 1`);
    // Earlier commands refreshed this page too, and such a refresh may land after this credit's
    // reply: wait for the page that shows the new balance.
    const home = await h.fakeSlack.waitFor(
      'views.publish',
      (c) => c.args.user_id === 'U0ADMIN' && shown(c).includes('€13.425'),
    );
    expect(home.args.view.type).toBe('home');
  });
});

describe('App Home refreshes', () => {
  it('a burst of changes rebuilds the team page about once a second, ending with the newest figures', async () => {
    const { member } = await h.services.members.create(ownerActor(), { name: 'Burst Target' });
    h.fakeSlack.clear();
    const replies = await Promise.all(
      Array.from({ length: 12 }, () => h.slack.command('U0ADMIN', `credit ${member.id} 0.01`).then(reply)),
    );
    for (const answer of replies) expect(answer.text).toContain('Burst Target');
    await h.handle.settled();
    const pages = h.fakeSlack.callsTo('views.publish').filter((c) => c.args.user_id === 'U0ADMIN');
    // Not one per credit: the first at once, the rest folded into the next one a second later.
    expect(pages.length).toBeGreaterThanOrEqual(1);
    expect(pages.length).toBeLessThanOrEqual(3);
    const team = await h.services.teams.get(ownerActor());
    expect(shown(pages.at(-1)!)).toContain(
      `Master balance: *${formatMoney(team.masterBalance, team.currency)}*`,
    );
  });
});

describe('/team autorecharge', () => {
  it('sets a rule, shows it on the member, and turns it off', async () => {
    const set = await run('U0ADMIN', `autorecharge ${acme.user.id} 5 20 100`);
    expect(set.text).toBe(
      `Auto-recharge for *Uma User* (#${acme.user.id}): when the balance falls below €5.00, add €20.00 from the master balance, at most €100.00 a day.`,
    );
    expect((await run('U0ADMIN', `show ${acme.user.id}`)).all).toContain('below €5.00 add €20.00');
    expect((await run('U0ADMIN', `autorecharge ${acme.user.id} off`)).text).toContain('Auto-recharge is off');
    expect((await run('U0ADMIN', `autorecharge ${acme.user.id} off`)).text).toContain('nothing changed');
  });

  it('refuses a daily cap below the amount, and a user', async () => {
    expect((await run('U0ADMIN', `autorecharge ${acme.user.id} 5 20 10`)).text).toContain(
      'Daily cap must be at least the recharge amount',
    );
    expect((await run('U0USER', `autorecharge ${acme.user.id} 5 20`)).text).toContain(':no_entry:');
  });
});

describe('/team invite, /team invitations and /team revoke', () => {
  it('invites by email and by mention, lists them, and revokes one', async () => {
    expect((await run('U0ADMIN', 'invite bob@acme.test admin')).text).toMatch(
      /^Invited bob@acme.test as \*admin\* \(invitation #\d+\)\. An email/,
    );
    expect((await run('U0ADMIN', 'invite <@U0CAROL|carol>')).text).toMatch(/^Invited <@U0CAROL> as \*user\*/);
    const list = await run('U0OWNER', 'invitations');
    expect(list.all).toContain('bob@acme.test');
    expect(list.all).toContain('<@U0CAROL>');
    expect((await run('U0OWNER', 'revoke bob@acme.test')).text).toContain('is revoked');
    expect((await run('U0OWNER', 'invitations')).all).not.toContain('bob@acme.test');
  });

  it('says so for an unknown invitation and refuses a user', async () => {
    expect((await run('U0OWNER', 'revoke 99999')).text).toContain('There is no invitation #99999');
    expect((await run('U0USER', 'invite x@acme.test')).text).toContain(':no_entry:');
  });
});

describe('/team link', () => {
  it('maps a Slack user to a member, whose commands then act as that member', async () => {
    const { member } = await h.services.members.create(ownerActor(), { name: 'Linked Later' });
    expect((await run('U0NEWBIE', 'balance')).text).toContain('You are not a member');
    expect((await run('U0ADMIN', `link ${member.id} <@U0NEWBIE|newbie>`)).text).toBe(
      `<@U0NEWBIE> is now linked to *Linked Later* (#${member.id}): their /team commands act as that member.`,
    );
    expect((await run('U0NEWBIE', 'balance')).text).toBe('Your balance is *€0.00*.');
  });

  it('refuses linking a Slack user already linked to someone else', async () => {
    expect((await run('U0ADMIN', `link ${acme.admin.id} <@U0USER>`)).text).toContain(
      '<@U0USER> is already linked to another member',
    );
  });
});

describe('/team alerts, /team digest, /team stats, /team logs', () => {
  it('sets where low-balance alerts go and at which level', async () => {
    expect((await run('U0OWNER', 'alerts <#C0ALERTS|alerts> 2.5')).text).toBe(
      'Low-balance alerts go to <#C0ALERTS>; members without auto-recharge are alerted below €2.50.',
    );
    expect((await h.services.teams.get(ownerActor())).alertsChannel).toBe('C0ALERTS');
    expect((await run('U0USER', 'alerts <#C0ALERTS>')).text).toContain(':no_entry:');
  });

  it('shows statistics for the team and a member', async () => {
    const stats = await run('U0OWNER', 'stats 7d');
    expect(stats.text).toMatch(/^Statistics \d{4}-\d{2}-\d{2} – \d{4}-\d{2}-\d{2}$/);
    expect(stats.all).toContain('Whole team');
    const mine = await run('U0USER', 'stats <@U0USER> today');
    expect(mine.all).not.toContain('Whole team');
    expect((await run('U0USER', 'stats <@U0ADMIN>')).text).toContain(':no_entry:');
  });

  it("shows a member's message log with filters, and refuses another member's log to a user", async () => {
    const log = await run('U0OWNER', `logs ${acme.user.id} failed 2026-01-01 2026-12-31`);
    expect(log.all).toContain('no messages match');
    expect((await run('U0USER', `logs ${acme.admin.id}`)).text).toContain(':no_entry:');
  });
});

describe('/team digest', () => {
  it('schedules a statistics digest to a channel, and turns it off', async () => {
    expect((await run('U0OWNER', 'digest <#C0STATS|stats> daily 8:30 Europe/Athens')).text).toBe(
      'A statistics digest goes to <#C0STATS> every day at 08:30 (Europe/Athens).',
    );
    expect(await h.services.digests.settings(ownerActor())).toMatchObject({
      channel: 'C0STATS',
      frequency: 'daily',
      time: '08:30',
      timezone: 'Europe/Athens',
    });
    expect((await run('U0OWNER', 'digest <#C0STATS> weekly')).text).toContain('every Monday at 09:00 (UTC)');
    expect((await run('U0OWNER', 'digest off')).text).toBe('The statistics digest is off.');
    expect((await h.services.digests.settings(ownerActor())).frequency).toBeNull();
  });

  it('refuses a user', async () => {
    expect((await run('U0USER', 'digest <#C0STATS> daily')).text).toContain(':no_entry:');
  });
});

describe('/team alone', () => {
  it('acks at once and opens the menu modal with the trigger id of the command', async () => {
    const res = await h.slack.command('U0ADMIN', '');
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    const open = await h.fakeSlack.waitFor('views.open');
    expect(open.args.trigger_id).toMatch(/^\d+\.[0-9a-f]+$/);
    expect(open.args.view.callback_id).toBe(VIEWS.menu);
    const labels = open.args.view.blocks
      .find((b: any) => b.type === 'actions')
      .elements.map((e: any) => [e.action_id, e.text.text]);
    expect(labels).toContainEqual([`${ACTIONS.openModal}_credit`, 'Credit']);
  });
});

// biome-ignore-all lint/suspicious/noExplicitAny: Slack payloads are loose JSON; the assertions say what matters.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/app.ts';
import { queryOne } from '../../src/platform/sql.ts';
import { memberActor, operator } from '../../src/shared/actor.ts';
import { ACTIONS } from '../../src/slack/ids.ts';
import { seedRuntimeTeam, useRuntime } from '../hardening/runtime-harness.ts';
import type { SlackCall } from '../helpers/fake-slack.ts';
import type { SlackRequests } from '../helpers/slack-requests.ts';

/**
 * `/team request` and its Approve / Deny buttons through the product as it runs: signed
 * requests to the real Slack endpoint, the outbox relay and the workers posting through the
 * rate-limited Slack queue, and a fake Slack Web API recording every chat.postMessage and
 * chat.update.
 */
const h = useRuntime();
const SLACK_TEAM = 'T0CREDIT';

let services: Services;
let slack: SlackRequests;
let teamId: number;
let ownerId: number;
let userId: number;
const OWNER = 'UOWNCREDIT';
const ADMIN = 'U0ADMIN';
const SECOND_ADMIN = 'U0ADMIN2';
const USER = 'U0USER';

beforeAll(async () => {
  const seeded = await seedRuntimeTeam(h, SLACK_TEAM);
  services = seeded.services;
  teamId = seeded.team.id;
  ownerId = seeded.owner.id;
  const owner = memberActor(ownerId, 'api');
  await services.ledger.topUp(operator, { teamId, amount: '100' });
  for (const [name, slackUserId] of [
    ['Adam Admin', ADMIN],
    ['Ada Second', SECOND_ADMIN],
  ] as const) {
    const { member } = await services.members.create(owner, { name });
    await services.members.link(owner, { id: member.id }, slackUserId);
    const request = await services.approvals.request(owner, { member: { id: member.id }, role: 'admin' });
    await services.approvals.approve(owner, request.id);
  }
  const { member: user } = await services.members.create(owner, { name: 'Uma User' });
  await services.members.link(owner, { id: user.id }, USER);
  userId = user.id;
  slack = h.slackRequests(h.base, SLACK_TEAM);
});

async function balances() {
  const row = await queryOne<{ master: string; member: string }>(
    h.runtimes[0]!.deps.orm.em.fork(),
    `select t.master_balance as master, m.balance as member
       from teams t join members m on m.team_id = t.id where t.id = ? and m.id = ?`,
    [teamId, userId],
  );
  return { master: row!.master, member: row!.member };
}

async function command(slackUserId: string, text: string): Promise<string> {
  const res = await slack.command(slackUserId, text, { channelId: 'C0GENERAL' });
  expect(res.status).toBe(200);
  const reply = await h.slack.waitForResponse(res.responseId);
  return JSON.stringify([reply.args.text, reply.args.blocks]);
}

function buttonsOf(call: SlackCall): any[] {
  return ((call.args.blocks as any[]) ?? []).filter((b) => b.type === 'actions').flatMap((b) => b.elements);
}

const requestIdOf = (reply: string) => Number(/Credit request #(\d+)/.exec(reply)![1]);

/** The request message posted to `channel` for request `id`. */
function postedTo(channel: string, id: number): Promise<SlackCall> {
  return h.slack.waitFor(
    'chat.postMessage',
    (c) => c.args.channel === channel && String(c.args.text).startsWith(`Credit request #${id}:`),
  );
}

async function click(slackUserId: string, posted: SlackCall, decision: 'approve' | 'deny') {
  const button = buttonsOf(posted).find(
    (b) => b.action_id === (decision === 'approve' ? ACTIONS.approveCredit : ACTIONS.denyCredit),
  );
  const res = await slack.click(
    slackUserId,
    { actionId: button.action_id, value: button.value },
    {
      message: {
        channel: String(posted.response?.channel ?? posted.args.channel),
        ts: String(posted.response?.ts),
        blocks: posted.args.blocks as unknown[],
      },
    },
  );
  expect(res.status).toBe(200);
  return res.responseId;
}

function updateOf(posted: SlackCall, status: string): Promise<SlackCall> {
  return h.slack.waitFor(
    'chat.update',
    (c) => c.args.ts === posted.response?.ts && JSON.stringify(c.args.blocks).includes(status),
  );
}

function dmTo(slackUserId: string, text: string): Promise<SlackCall> {
  return h.slack.waitFor(
    'chat.postMessage',
    (c) => c.args.channel === slackUserId && String(c.args.text).includes(text),
  );
}

describe('/team request without an alerts channel', () => {
  let id: number;
  let toAdmin: SlackCall;
  let toOwner: SlackCall;

  it('tells the member it is sent, and DMs the owner and each admin Approve / Deny', async () => {
    const reply = await command(USER, 'request 25 Campaign for "Black Friday"');
    expect(reply).toMatch(/Credit request #\d+ for €25\.00 is sent to the owner and admins/);
    id = requestIdOf(reply);
    [toOwner, toAdmin] = await Promise.all([postedTo(OWNER, id), postedTo(ADMIN, id)]);
    await postedTo(SECOND_ADMIN, id);
    for (const message of [toOwner, toAdmin]) {
      expect(buttonsOf(message).map((b) => b.text.text)).toEqual(['Approve', 'Deny']);
      expect(JSON.stringify(message.args.blocks)).toContain('<@U0USER>');
      expect(JSON.stringify(message.args.blocks)).toContain('*€25.00*');
      expect(JSON.stringify(message.args.blocks)).toContain('Campaign for Black Friday');
    }
  });

  it('refuses a click by a plain user, telling only them, and changes nothing', async () => {
    const responseId = await click(USER, toAdmin, 'approve');
    const answer = await h.slack.waitForResponse(responseId);
    expect(answer.args).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(answer.args.text).toBe(
      ':no_entry: Only the owner and admins can approve or deny credit requests.',
    );
    expect(await balances()).toEqual({ master: '100000000', member: '0' });
    expect(h.slack.callsTo('chat.update').filter((c) => c.args.ts === toAdmin.response?.ts)).toEqual([]);
  });

  it("credits on an admin's click, updates every copy in place without buttons, and DMs the requester", async () => {
    await click(ADMIN, toAdmin, 'approve');
    const updates = await Promise.all(
      [toAdmin, toOwner].map((posted) => updateOf(posted, '*approved* by Adam Admin')),
    );
    for (const update of updates) expect(buttonsOf(update)).toEqual([]);
    expect(updates.map((u) => u.args.channel).sort()).toEqual([ADMIN, OWNER].sort());
    const told = await dmTo(USER, `Your credit request #${id} for *€25.00* was approved by Adam Admin`);
    expect(told.args.text).toContain('on your balance');
    expect(await balances()).toEqual({ master: '75000000', member: '25000000' });
  });

  it('changes nothing on a retried click or a second click, and says so to the clicker only', async () => {
    const retried = await click(ADMIN, toAdmin, 'approve');
    const late = await click(OWNER, toOwner, 'deny');
    for (const responseId of [retried, late]) {
      const answer = await h.slack.waitForResponse(responseId);
      expect(answer.args.text).toBe(
        `Credit request #${id} was already approved by Adam Admin; nothing changed.`,
      );
    }
    expect(await balances()).toEqual({ master: '75000000', member: '25000000' });
  });
});

describe('/team request with an alerts channel', () => {
  beforeAll(async () => {
    await services.teams.setAlerts(memberActor(ownerId, 'api'), { channel: 'C0ALERTS', level: '1' });
  });

  it('posts to the alerts channel alone; two admins clicking Approve at once credit once', async () => {
    h.slack.clear();
    const id = requestIdOf(await command(USER, 'request 10'));
    const posted = await postedTo('C0ALERTS', id);
    const clicks = await Promise.all([
      click(ADMIN, posted, 'approve'),
      click(SECOND_ADMIN, posted, 'approve'),
    ]);
    await updateOf(posted, '*approved* by');
    await dmTo(USER, `Your credit request #${id} for *€10.00* was approved`);
    // One click decided (no reply), the other is told it changed nothing.
    const answer = await Promise.race(clicks.map((responseId) => h.slack.waitForResponse(responseId)));
    expect(answer.args.text).toMatch(new RegExp(`^Credit request #${id} was already approved by Ad`));
    expect(await balances()).toEqual({ master: '65000000', member: '35000000' });
    expect(
      h.slack.callsTo('chat.postMessage').filter((c) => String(c.args.text).includes(`#${id}:`)),
    ).toHaveLength(1);
    const transfers = await queryOne<{ n: number }>(
      h.runtimes[0]!.deps.orm.em.fork(),
      'select count(*)::int as n from transfers where idempotency_key = ?',
      [`credit-request-${id}`],
    );
    expect(transfers?.n).toBe(1);
  });

  it('refuses an approval the master balance cannot pay, and the request stays open', async () => {
    const id = requestIdOf(await command(USER, 'request 500 big campaign'));
    const posted = await postedTo('C0ALERTS', id);
    const answer = await h.slack.waitForResponse(await click(OWNER, posted, 'approve'));
    expect(answer.args.text).toContain('The master balance is €65.00, not enough for €500.00');
    expect(answer.args.text).toContain(`request #${id} stays open`);
    expect((await services.creditRequests.get(memberActor(ownerId, 'api'), id)).status).toBe('open');
    expect(await balances()).toEqual({ master: '65000000', member: '35000000' });

    // Denied: the message says so, the requester is told, no money moves.
    await click(ADMIN, posted, 'deny');
    const update = await updateOf(posted, '*denied* by Adam Admin');
    expect(buttonsOf(update)).toEqual([]);
    await dmTo(USER, `Your credit request #${id} for *€500.00* was denied by Adam Admin`);
    expect(await balances()).toEqual({ master: '65000000', member: '35000000' });
  });

  it('lists open requests: a user its own, an admin everyone’s', async () => {
    const mine = requestIdOf(await command(USER, 'request 3 topup'));
    const mineListed = await command(USER, 'requests');
    expect(mineListed).toContain(`*#${mine}*`);
    const secondAdmin = requestIdOf(await command(SECOND_ADMIN, 'request 2'));
    const userView = await command(USER, 'requests');
    expect(userView).not.toContain(`#${secondAdmin}*`);
    const adminView = await command(ADMIN, 'requests');
    expect(adminView).toContain(`*#${mine}*`);
    expect(adminView).toContain(`*#${secondAdmin}*`);
  });

  it('refuses a click after seven days, marks every copy expired and tells the requester', async () => {
    const [{ id } = { id: 0 }] = await services.creditRequests.list(memberActor(userId, 'api'));
    const posted = await postedTo('C0ALERTS', id);
    await h.runtimes[0]!.deps.orm.em.fork().execute(
      `update credit_requests set expires_at = now() - interval '1 second' where id = ?`,
      [id],
    );
    const answer = await h.slack.waitForResponse(await click(ADMIN, posted, 'approve'));
    expect(answer.args.text).toMatch(new RegExp(`Credit request #${id} expired on .* UTC; nothing changed`));
    const update = await updateOf(posted, 'expired on');
    expect(buttonsOf(update)).toEqual([]);
    await dmTo(USER, `Your credit request #${id} for *€3.00* expired after seven days`);
    expect(await balances()).toEqual({ master: '65000000', member: '35000000' });
  });

  it('answers a bad amount with the usage, naming what is wrong', async () => {
    // A command that cannot be read is answered in the acknowledgement itself.
    const res = await slack.command(USER, 'request 1.1234567', { channelId: 'C0GENERAL' });
    expect(res.json).toMatchObject({ response_type: 'ephemeral' });
    expect(res.json.text).toContain('amount has more than 6 decimals');
    expect(res.json.text).toContain('/team request');
    expect(await services.creditRequests.list(memberActor(userId, 'api'), { status: 'all' })).toHaveLength(4);
  });
});

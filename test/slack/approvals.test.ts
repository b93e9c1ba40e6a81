// biome-ignore-all lint/suspicious/noExplicitAny: Slack payloads are loose JSON; the assertions say what matters.
import { beforeAll, describe, expect, it } from 'vitest';
import { memberActor } from '../../src/shared/actor.ts';
import { ACTIONS } from '../../src/slack/ids.ts';
import type { SlackCall } from '../helpers/fake-slack.ts';
import { type SlackTeam, seedSlackTeam, shown, useSlackApp } from './harness.ts';

const h = useSlackApp('T0APPROVALS');
let acme: SlackTeam;

beforeAll(async () => {
  acme = await seedSlackTeam(h);
});

const ownerActor = () => memberActor(acme.owner.id, 'slack');
const roleOf = async (id: number) => (await h.services.members.show(ownerActor(), { id })).role;

/** `/team role …` typed in #general; returns the posted approval message and the ephemeral reply. */
async function requestRole(slackUserId: string, text: string) {
  const res = await h.slack.command(slackUserId, text, { channelId: 'C0GENERAL' });
  const reply = await h.fakeSlack.waitForResponse(res.responseId);
  const posted = h.fakeSlack.callsTo('chat.postMessage').at(-1);
  return { reply: String(reply.args.text), posted };
}

function buttonsOf(call: SlackCall): any[] {
  return (call.args.blocks as any[]).filter((b) => b.type === 'actions').flatMap((b) => b.elements);
}

async function click(slackUserId: string, posted: SlackCall, decision: 'approve' | 'deny') {
  const button = buttonsOf(posted).find(
    (b) => b.action_id === (decision === 'approve' ? ACTIONS.approveRole : ACTIONS.denyRole),
  );
  const res = await h.slack.click(
    slackUserId,
    { actionId: button.action_id, value: button.value },
    {
      message: { channel: posted.args.channel, ts: String(posted.response?.ts), blocks: posted.args.blocks },
    },
  );
  expect(res.status).toBe(200);
  return res;
}

describe('/team role', () => {
  let posted: SlackCall;

  it('posts an Approve / Deny message naming who may decide, and tells the requester', async () => {
    const { reply, posted: message } = await requestRole('U0OWNER', 'role <@U0USER> admin');
    expect(reply).toMatch(/^Request #\d+ to make Uma User admin was posted here for approval\.$/);
    expect(message?.args.channel).toBe('C0GENERAL');
    expect(shown(message!)).toContain('<@U0OWNER> <@U0ADMIN>');
    expect(buttonsOf(message!).map((b) => b.text.text)).toEqual(['Approve', 'Deny']);
    posted = message!;
    expect(await roleOf(acme.user.id)).toBe('user');
  });

  it('ignores a click by someone who is not a member, telling only them', async () => {
    const res = await click('U0OUTSIDER', posted, 'approve');
    const answer = await h.fakeSlack.waitForResponse(res.responseId);
    expect(answer.args).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(answer.args.text).toContain('You are not a member of Acme');
    expect(h.fakeSlack.callsTo('chat.update')).toEqual([]);
    expect(await roleOf(acme.user.id)).toBe('user');
  });

  it('ignores a click by a plain user, even the member concerned', async () => {
    const res = await click('U0USER', posted, 'approve');
    const answer = await h.fakeSlack.waitForResponse(res.responseId);
    expect(answer.args.text).toBe(':no_entry: Only the owner and admins can approve role changes.');
    expect(h.fakeSlack.callsTo('chat.update')).toEqual([]);
    expect(await roleOf(acme.user.id)).toBe('user');
  });

  it("applies an approver's click, updates the message in place, and tells the requester and the member", async () => {
    await click('U0ADMIN', posted, 'approve');
    const update = await h.fakeSlack.waitFor('chat.update');
    expect(update.args).toMatchObject({ channel: 'C0GENERAL', ts: posted.response?.ts });
    expect(shown(update)).toContain('*approved* by Adam Admin');
    expect((update.args.blocks as any[]).some((b) => b.type === 'actions')).toBe(false);
    expect(await roleOf(acme.user.id)).toBe('admin');

    const toMember = await h.fakeSlack.waitFor('chat.postMessage', (c) => c.args.channel === 'DU0USER');
    expect(toMember.args.text).toContain('You are now an *admin*');
    const toRequester = await h.fakeSlack.waitFor('chat.postMessage', (c) => c.args.channel === 'DU0OWNER');
    expect(toRequester.args.text).toContain('was *approved* by Adam Admin');
  });

  it('changes nothing on a second click, and says so to the clicker only', async () => {
    const res = await click('U0OWNER', posted, 'deny');
    const answer = await h.fakeSlack.waitForResponse(res.responseId);
    expect(answer.args.text).toMatch(/was already approved by Adam Admin; nothing changed/);
    const update = await h.fakeSlack.waitFor('chat.update');
    expect(shown(update)).toContain('*approved* by Adam Admin');
    expect(await roleOf(acme.user.id)).toBe('admin');
    expect(h.fakeSlack.callsTo('conversations.open')).toEqual([]);
  });

  it("hands ownership over only on the owner's click, and back again", async () => {
    const { posted: handover } = await requestRole('U0OWNER', `role ${acme.admin.id} owner`);
    expect(shown(handover!)).toContain('only the owner can decide a change of ownership');
    const byAdmin = await click('U0USER', handover!, 'approve');
    expect((await h.fakeSlack.waitForResponse(byAdmin.responseId)).args.text).toContain(
      'Only the owner can approve handing over ownership',
    );
    expect(await roleOf(acme.admin.id)).toBe('admin');
    await click('U0OWNER', handover!, 'approve');
    await h.fakeSlack.waitFor('chat.update');
    expect(await roleOf(acme.admin.id)).toBe('owner');
    expect(await roleOf(acme.owner.id)).toBe('admin');
    // The new owner is told by direct message, the decision's last step: once it has arrived,
    // nothing of this decision is still on its way to Slack.
    await h.fakeSlack.waitFor('chat.postMessage', (c) => c.args.channel === 'DU0ADMIN');

    h.fakeSlack.clear();
    const { posted: back } = await requestRole('U0ADMIN', `role ${acme.owner.id} owner`);
    await click('U0ADMIN', back!, 'approve');
    await h.fakeSlack.waitFor('chat.update');
    expect(await roleOf(acme.owner.id)).toBe('owner');
    expect(await roleOf(acme.admin.id)).toBe('admin');
    // Likewise, so that this message cannot reach Slack during the next test (and use up the
    // failure that test plans for chat.postMessage).
    await h.fakeSlack.waitFor('chat.postMessage', (c) => c.args.channel === 'DU0OWNER');
  });

  it('sends the request to an approver directly where it cannot post in the channel', async () => {
    h.fakeSlack.failNext('chat.postMessage', 'channel_not_found');
    const res = await h.slack.command('U0ADMIN', `role ${acme.user.id} user`, { channelId: 'D0PRIVATE' });
    const reply = await h.fakeSlack.waitForResponse(res.responseId);
    expect(reply.args.text).toContain('was posted to an approver by direct message');
    const dm = await h.fakeSlack.waitFor('chat.postMessage', (c) => c.args.channel === 'DU0OWNER');
    expect(buttonsOf(dm).map((b) => b.action_id)).toEqual([ACTIONS.approveRole, ACTIONS.denyRole]);
  });

  it('refuses a plain user asking for a role change', async () => {
    const { user } = await h.services.members
      .create(ownerActor(), { name: 'Plain' })
      .then(async (created) => {
        await h.services.members.link(ownerActor(), { id: created.member.id }, 'U0PLAIN');
        return { user: created.member };
      });
    const res = await h.slack.command('U0PLAIN', `role ${user.id} admin`);
    expect((await h.fakeSlack.waitForResponse(res.responseId)).args.text).toBe(
      ':no_entry: Only the owner and admins can request role changes.',
    );
    expect(h.fakeSlack.callsTo('chat.postMessage')).toEqual([]);
  });
});

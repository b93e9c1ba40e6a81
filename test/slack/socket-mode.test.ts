// biome-ignore-all lint/suspicious/noExplicitAny: Slack payloads are loose JSON; the assertions say what matters.
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryRateLimits } from '../../src/platform/rate-limits.ts';
import { memberActor } from '../../src/shared/actor.ts';
import { ACTIONS } from '../../src/slack/ids.ts';
import type { SlackCall } from '../helpers/fake-slack.ts';
import { ACK_DEADLINE_MS } from '../helpers/fake-socket-mode.ts';
import { APP_TOKEN, type SlackTeam, seedSlackTeam, shown, useSlackApp } from './harness.ts';

/** Enough for every other test here; the limit test goes past it with a user of its own. */
const COMMANDS_PER_USER = 5;
const h = useSlackApp('T0SOCKET', {
  socketMode: true,
  rateLimits: memoryRateLimits({ windowSeconds: 600, api: 1000, slack: COMMANDS_PER_USER, invitations: 100 }),
});
let acme: SlackTeam;
/** The `apps.connections.open` calls made while connecting (the fake's record is cleared before each test). */
let opened: SlackCall[];

beforeAll(async () => {
  opened = h.fakeSlack.callsTo('apps.connections.open');
  acme = await seedSlackTeam(h);
});

const roleOf = async (id: number) =>
  (await h.services.members.show(memberActor(acme.owner.id, 'slack'), { id })).role;

describe('Socket Mode', () => {
  it('asks SLACK_API_URL for the socket URL with the app token, and connects where it points', () => {
    expect(h.handle.mode).toBe('socket');
    expect(opened).toHaveLength(1);
    expect(opened[0]!.token).toBe(APP_TOKEN);
    // The ticket is random and only the fake's answer carries it: the socket went where it said.
    const answered = new URL(String(opened[0]!.response?.url));
    expect(answered.protocol).toBe('ws:');
    expect(h.socketMode.connections).toEqual([`${answered.pathname}${answered.search}`]);
    expect(h.socketMode.openConnections).toBe(1);
  });

  it('acks a /team balance envelope within 3 seconds and answers through its response_url', async () => {
    const { fields, responseId } = h.slack.commandPayload('U0OWNER', 'balance');
    const ack = await h.socketMode.slashCommand(fields);
    expect(ack.ms).toBeLessThan(ACK_DEADLINE_MS);
    const reply = await h.fakeSlack.waitForResponse(responseId);
    expect(reply.args.response_type).toBe('ephemeral');
    expect(shown(reply)).toContain('€1,000.00');
  });

  it('puts the usage line of a malformed command in the ack', async () => {
    const { fields } = h.slack.commandPayload('U0OWNER', 'credit <@U0USER> lots');
    const ack = await h.socketMode.slashCommand(fields);
    expect(ack.payload?.response_type).toBe('ephemeral');
    expect(ack.payload?.text).toContain('Usage: `/team credit <member> <amount> [reason]`');
  });

  it('applies an Approve click on a role request', async () => {
    const { fields, responseId } = h.slack.commandPayload('U0OWNER', 'role <@U0USER> admin');
    await h.socketMode.slashCommand(fields);
    expect(String((await h.fakeSlack.waitForResponse(responseId)).args.text)).toMatch(
      /was posted here for approval/,
    );
    const posted = await h.fakeSlack.waitFor('chat.postMessage', (c) => c.args.channel === 'C0GENERAL');
    const approve = (posted.args.blocks as any[])
      .filter((b) => b.type === 'actions')
      .flatMap((b) => b.elements)
      .find((b) => b.action_id === ACTIONS.approveRole);
    const click = h.slack.clickPayload(
      'U0ADMIN',
      { actionId: approve.action_id, value: approve.value },
      { message: { channel: 'C0GENERAL', ts: String(posted.response?.ts), blocks: posted.args.blocks } },
    );
    const ack = await h.socketMode.interactive(click.payload);
    expect(ack.ms).toBeLessThan(ACK_DEADLINE_MS);
    const update = await h.fakeSlack.waitFor('chat.update');
    expect(update.args).toMatchObject({ channel: 'C0GENERAL', ts: posted.response?.ts });
    expect(shown(update)).toContain('*approved* by Adam Admin');
    expect(await roleOf(acme.user.id)).toBe('admin');
  });

  it('publishes the team page on an app_home_opened event', async () => {
    const ack = await h.socketMode.eventsApi(
      h.slack.eventPayload({ type: 'app_home_opened', user: 'U0OWNER', channel: 'D0OWNER', tab: 'home' }),
    );
    expect(ack.ms).toBeLessThan(ACK_DEADLINE_MS);
    const home = await h.fakeSlack.waitFor('views.publish', (c) => c.args.user_id === 'U0OWNER');
    expect(home.args.view.type).toBe('home');
    expect(shown(home)).toContain('Master balance');
  });

  it('limits each Slack user’s commands, as over HTTP: past the limit the ack says when to retry', async () => {
    for (let i = 0; i < COMMANDS_PER_USER; i += 1) {
      const { fields, responseId } = h.slack.commandPayload('U0USER', 'balance');
      await h.socketMode.slashCommand(fields);
      expect(shown(await h.fakeSlack.waitForResponse(responseId))).toContain('balance');
    }
    const refused = h.slack.commandPayload('U0USER', 'balance');
    const ack = await h.socketMode.slashCommand(refused.fields);
    expect(ack.ms).toBeLessThan(ACK_DEADLINE_MS);
    expect(ack.payload).toMatchObject({ response_type: 'ephemeral' });
    expect(ack.payload?.text).toMatch(/^Too many requests: try again in \d+ s$/);
    // Another user is not held back; by the time it is answered, the refused command would have been.
    const other = h.slack.commandPayload('U0ADMIN', 'balance');
    await h.socketMode.slashCommand(other.fields);
    await h.fakeSlack.waitForResponse(other.responseId);
    expect(h.fakeSlack.responses(refused.responseId)).toEqual([]);
  });

  it('does not serve /slack/events', async () => {
    const res = await h.slack.command('U0OWNER', 'balance');
    expect(res.status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(h.fakeSlack.calls).toEqual([]);
  });

  it('closes its connection on stop, with a close handshake', async () => {
    await h.handle.stop();
    // stop() returns once Slack's side has answered the close frame, not merely sent one.
    expect(h.socketMode.openConnections).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(h.socketMode.connections).toHaveLength(1);
  });
});

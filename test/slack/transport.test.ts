import { describe, expect, it } from 'vitest';
import { memberActor } from '../../src/shared/actor.ts';
import { memberOfKey } from '../helpers/services.ts';
import { signSlackRequest } from '../helpers/slack-requests.ts';
import { seedSlackTeam, shown, useSlackApp } from './harness.ts';

const h = useSlackApp('T0TRANSPORT');

describe('POST /slack/events', () => {
  it('refuses a request signed with another secret, and runs nothing', async () => {
    const res = await h.slack.command('U0NOBODY', 'setup Forged', { sign: { signature: 'v0=deadbeef' } });
    expect(res.status).toBe(401);
    const body = new URLSearchParams({ text: 'setup Forged', team_id: 'T0TRANSPORT' }).toString();
    const timestamp = Math.floor(Date.now() / 1000);
    const other = await h.slack.post(body, 'application/x-www-form-urlencoded', 'x', {
      timestamp,
      signature: signSlackRequest('another-secret', timestamp, body),
    });
    expect(other.status).toBe(401);
    expect(await h.services.teams.getBySlackTeam('T0TRANSPORT')).toBeNull();
    expect(h.fakeSlack.calls.filter((call) => call.method !== 'auth.test')).toEqual([]);
  });

  it('refuses a correctly signed request older than five minutes', async () => {
    const res = await h.slack.command('U0NOBODY', 'setup Replayed', {
      sign: { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 },
    });
    expect(res.status).toBe(401);
    expect(await h.services.teams.getBySlackTeam('T0TRANSPORT')).toBeNull();
  });

  it('answers an unknown subcommand or malformed arguments in the ack with a usage line, never a 5xx', async () => {
    const unknown = await h.slack.command('U0NOBODY', 'transfer everything');
    expect(unknown.status).toBe(200);
    expect(unknown.json).toEqual({
      response_type: 'ephemeral',
      text: '"transfer" is not a /team command. Try `/team help` for the list of commands.',
    });
    const malformed = await h.slack.command('U0NOBODY', 'credit <@U0X> lots');
    expect(malformed.status).toBe(200);
    expect(malformed.json.text).toContain('amount must be a decimal number like 50 or 12.5, not "lots"');
    expect(malformed.json.text).toContain('Usage: `/team credit <member> <amount> [reason]`');
    for (const text of [
      'credit',
      'role 5 king',
      'digest <#C0X> hourly',
      'logs 4 2026-13-01',
      '"unterminated',
      '<@',
    ]) {
      const res = await h.slack.command('U0NOBODY', text);
      expect(res.status, text).toBe(200);
      expect(res.json?.response_type, text).toBe('ephemeral');
    }
  });

  it('tells a Slack user of a workspace without a team how to set one up, and does nothing else', async () => {
    const res = await h.slack.command('U0NOBODY', 'list');
    expect(res.status).toBe(200);
    const reply = await h.fakeSlack.waitForResponse(res.responseId);
    expect(reply.args.text).toMatch(/No team is set up in this workspace yet: run \/team setup/);
    expect(reply.args.response_type).toBe('ephemeral');
  });

  it('/team setup makes the caller the owner, named and mailed from their Slack profile, and shows their key once', async () => {
    h.fakeSlack.setUser('U0FOUNDER', { name: 'Frida Founder', email: 'frida@transport.test' });
    const res = await h.slack.command('U0FOUNDER', 'setup "Transport Co" USD');
    const reply = await h.fakeSlack.waitForResponse(res.responseId);
    expect(reply.args.response_type).toBe('ephemeral');
    expect(shown(reply)).toContain('Team *Transport Co* is set up with currency USD, and you are its owner');
    const key = /```(tok_[\w-]+)```/.exec(shown(reply))?.[1];
    expect(key).toBeDefined();
    const owner = await memberOfKey(h.services, key!);
    expect(owner).toMatchObject({
      name: 'Frida Founder',
      email: 'frida@transport.test',
      role: 'owner',
      slackUserId: 'U0FOUNDER',
    });
    // Shown once, to the caller only: in the ephemeral reply and nowhere else.
    const elsewhere = h.fakeSlack.calls.filter(
      (call) => call !== reply && JSON.stringify(call.args).includes(key!),
    );
    expect(elsewhere).toEqual([]);
    const home = await h.fakeSlack.waitFor('views.publish', (call) => call.args.user_id === 'U0FOUNDER');
    expect(shown(home)).toContain('Transport Co');

    const again = await h.slack.command('U0SECOND', 'setup Other');
    expect((await h.fakeSlack.waitForResponse(again.responseId)).args.text).toContain(
      'This workspace already has a team, "Transport Co"',
    );
  });

  it("links an unknown Slack user whose profile email is a member's email, then acts as that member", async () => {
    const team = await h.services.teams.getBySlackTeam('T0TRANSPORT');
    const owner = await h.services.members.identifySlackUser({
      slackTeamId: 'T0TRANSPORT',
      slackUserId: 'U0FOUNDER',
    });
    await h.services.members.create(memberActor(owner.id, 'slack'), {
      name: 'Eve',
      email: 'eve@transport.test',
    });
    h.fakeSlack.setUser('U0EVE', { name: 'Eve E.', email: 'Eve@Transport.test' });
    const res = await h.slack.command('U0EVE', 'balance');
    const reply = await h.fakeSlack.waitForResponse(res.responseId);
    expect(reply.args.text).toBe('Your balance is *$0.00*.');
    expect(h.fakeSlack.callsTo('users.info').map((c) => c.args.user)).toEqual(['U0EVE']);
    const eve = await h.services.members.identifySlackUser({
      slackTeamId: team!.slackTeamId!,
      slackUserId: 'U0EVE',
    });
    expect(eve.email).toBe('eve@transport.test');
  });

  it('tells a Slack user who is no member exactly that, and changes nothing', async () => {
    h.fakeSlack.setUser('U0STRANGER', { name: 'Stranger', email: 'stranger@elsewhere.test' });
    const res = await h.slack.command('U0STRANGER', 'credit 1 5');
    const reply = await h.fakeSlack.waitForResponse(res.responseId);
    expect(reply.args.text).toBe(
      ':wave: You are not a member of Transport Co. Ask its owner or an admin to add you with /team link.',
    );
    const methods = h.fakeSlack.calls.map((call) => call.method);
    expect(methods.filter((m) => m !== 'auth.test')).toEqual(['users.info', 'response_url']);
    const help = await h.slack.command('U0STRANGER', 'help');
    expect(shown(await h.fakeSlack.waitForResponse(help.responseId))).toContain(
      'You are not a member of *Transport Co*',
    );
  });
});

describe('/team help', () => {
  const other = useSlackApp('T0HELP');

  it('shows each role what it may do', async () => {
    await seedSlackTeam(other);
    const asUser = await other.slack.command('U0USER', 'help');
    const userHelp = shown(await other.fakeSlack.waitForResponse(asUser.responseId));
    expect(userHelp).toContain('You are a *user*');
    expect(userHelp).toContain('/team balance');
    expect(userHelp).not.toContain('/team credit');
    const asAdmin = await other.slack.command('U0ADMIN', 'help');
    const adminHelp = shown(await other.fakeSlack.waitForResponse(asAdmin.responseId));
    expect(adminHelp).toContain('You are an *admin*');
    expect(adminHelp).toContain('/team credit');
    expect(adminHelp).toContain('/team delete');
  });
});

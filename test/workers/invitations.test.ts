import { describe, expect, it } from 'vitest';
import { memberActor } from '../../src/shared/actor.ts';
import { answerInvitationDm } from '../../src/slack/listeners/actions/invitation-answer.ts';
import { INVITATION_DM_ACTIONS } from '../../src/slack/presenters/invitation-dm.ts';
import { invitationLinkToken } from '../helpers/invitation-link.ts';
import { memberOfKey, seedTeam } from '../helpers/services.ts';
import { PUBLIC_URL, useWorkerHarness } from '../helpers/worker-harness.ts';
import { eventually, sleep } from '../helpers/workers.ts';

const h = useWorkerHarness();

async function deliveryOf(invitationId: number) {
  const { rows } = await h.sql.query<{ delivery_status: string; delivery_error: string | null }>(
    'select delivery_status, delivery_error from invitations where id = $1',
    [invitationId],
  );
  return rows[0]!;
}

describe('invitation emails', () => {
  it('emails the link with team, inviter, role and expiry, and records it as sent', async () => {
    const seeded = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(seeded.admin.actor, {
      email: 'new.person@example.com',
      role: 'admin',
    });
    const email = await h.smtp.waitFor((e) => e.to.includes('new.person@example.com'));
    const token = await invitationLinkToken(h.services, invitation.id);
    const link = `${PUBLIC_URL}/invitations/${token}`;

    expect(email.subject).toBe(`Adam Admin invited you to ${seeded.team.name} on teamops`);
    expect(email.from).toBe('no-reply@teamops.test');
    for (const body of [email.text, email.html]) {
      expect(body).toContain(seeded.team.name);
      expect(body).toContain('Adam Admin');
      expect(body).toContain('an admin');
      expect(body).toContain(link);
    }
    const expiry = invitation.expiresAt;
    const expiryText = new Intl.DateTimeFormat('en-GB', {
      day: 'numeric',
      month: 'long',
      year: 'numeric',
      timeZone: 'UTC',
    }).format(expiry);
    expect(email.text).toContain(expiryText);
    expect(email.html).toContain(`href="${link}"`);

    await eventually(async () => (await deliveryOf(invitation.id)).delivery_status === 'sent');
    const [listed] = await h.services.invitations.list(seeded.admin.actor);
    expect(listed).toMatchObject({ id: invitation.id, deliveryStatus: 'sent', deliveryError: null });
  });

  it('escapes what people typed into the HTML email', async () => {
    const { team, owner } = await h.services.teams.setup({
      name: 'Acme <Sales> & Co',
      owner: { name: 'Olga "O" <Owner>', email: 'olga@acme.example' },
      via: 'cli',
    });
    await h.services.invitations.invite(memberActor(owner.id, 'api'), {
      email: 'escape@example.com',
      teamId: team.id,
    });
    const email = await h.smtp.waitFor((e) => e.to.includes('escape@example.com'));
    expect(email.text).toContain('Acme <Sales> & Co');
    expect(email.html).toContain('Acme &#60;Sales&#62; &#38; Co');
    expect(email.html).toContain('Olga &#34;O&#34; &#60;Owner&#62;');
    expect(email.html).not.toContain('<Sales>');
    expect(email.html).not.toContain('<Owner>');
  });

  it('retries after a temporary SMTP refusal and records the email once it goes through', async () => {
    const seeded = await seedTeam(h.services);
    h.smtp.refuseNext(451, 'Greylisted, try again later');
    const invitation = await h.services.invitations.invite(seeded.admin.actor, {
      email: 'retry@example.com',
    });
    await eventually(async () => (await deliveryOf(invitation.id)).delivery_error?.includes('Greylisted'), {
      message: 'first attempt recorded as retrying',
    });
    expect((await deliveryOf(invitation.id)).delivery_status).toBe('queued');
    await h.smtp.waitFor((e) => e.to.includes('retry@example.com'), 30_000);
    await eventually(async () => (await deliveryOf(invitation.id)).delivery_status === 'sent', {
      message: 'recorded as sent after the retry',
    });
    expect(h.smtp.to('retry@example.com')).toHaveLength(1);
    expect((await deliveryOf(invitation.id)).delivery_error).toBeNull();
  });

  it('marks the invitation failed at once when the server refuses the address for good', async () => {
    const seeded = await seedTeam(h.services);
    h.smtp.refuseNext(550, 'No such mailbox');
    const invitation = await h.services.invitations.invite(seeded.admin.actor, {
      email: 'nobody@example.com',
    });
    await eventually(async () => (await deliveryOf(invitation.id)).delivery_status === 'failed');
    expect((await deliveryOf(invitation.id)).delivery_error).toContain('No such mailbox');
    const [listed] = await h.services.invitations.list(seeded.admin.actor);
    expect(listed).toMatchObject({ deliveryStatus: 'failed' });
    await sleep(500);
    expect(h.smtp.to('nobody@example.com')).toHaveLength(0);
  });

  it('sends nothing once the invitation is revoked, even if its email was still being retried', async () => {
    const seeded = await seedTeam(h.services);
    h.smtp.refuseNext(421, 'Service not available, closing channel');
    const invitation = await h.services.invitations.invite(seeded.admin.actor, {
      email: 'changed.mind@example.com',
    });
    await eventually(async () =>
      (await deliveryOf(invitation.id)).delivery_error?.includes('closing channel'),
    );
    await h.services.invitations.revoke(seeded.admin.actor, { id: invitation.id });
    // The retry comes 5 s after the refusal.
    await sleep(6_500);
    expect(h.smtp.to('changed.mind@example.com')).toHaveLength(0);
    expect((await deliveryOf(invitation.id)).delivery_status).toBe('queued');
  }, 20_000);
});

describe('invitations by Slack mention', () => {
  it('DMs Accept and Decline buttons instead of an email; Accept activates the member once', async () => {
    const seeded = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(seeded.admin.actor, {
      slackUserId: 'UINVITED1',
      role: 'user',
    });
    const dm = await h.slack.waitFor('chat.postMessage', (call) => call.args.channel === 'UINVITED1');
    const token = await invitationLinkToken(h.services, invitation.id);
    expect(dm.token).toBe('xoxb-test-token');
    expect(dm.args.text).toContain(seeded.team.name);
    const buttons = dm.args.blocks
      .flatMap((block: { elements?: unknown[] }) => block.elements ?? [])
      .filter((element: { type: string }) => element.type === 'button');
    expect(buttons.map((b: { action_id: string; value: string }) => [b.action_id, b.value])).toEqual([
      [INVITATION_DM_ACTIONS.accept, token],
      [INVITATION_DM_ACTIONS.decline, token],
    ]);
    await eventually(async () => (await deliveryOf(invitation.id)).delivery_status === 'sent');
    expect(h.smtp.received.filter((e) => e.text.includes(token))).toHaveLength(0);

    const accepted = await answerInvitationDm(h.services, {
      action: 'accept',
      token,
      displayName: 'Ivy Invited',
    });
    expect(accepted.replace.text).toContain(`You joined ${seeded.team.name} as Ivy Invited`);
    const key = /```(\S+)```/.exec(JSON.stringify(accepted.shownOnce?.blocks))?.[1];
    const member = await memberOfKey(h.services, key!);
    expect(member).toMatchObject({ name: 'Ivy Invited', status: 'active', slackUserId: 'UINVITED1' });
    const { rows: audited } = await h.sql.query(
      "select via from audit_events where action = 'invitation.accepted' and subject_member_id = $1",
      [member.id],
    );
    expect(audited, 'an accept from the DM is audited as Slack, not as the API').toEqual([{ via: 'slack' }]);

    const again = await answerInvitationDm(h.services, {
      action: 'decline',
      token,
      displayName: 'Ivy Invited',
    });
    expect(again.replace.text).toMatch(/used already/);
    expect(again.shownOnce).toBeUndefined();
    expect((await h.services.members.authenticateApiKey(key!)).status).toBe('active');
  });

  it('Decline withdraws the invitation and its reserved sub-account', async () => {
    const seeded = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(seeded.admin.actor, { slackUserId: 'UDECLINE1' });
    await h.slack.waitFor('chat.postMessage', (call) => call.args.channel === 'UDECLINE1');
    const token = await invitationLinkToken(h.services, invitation.id);
    const answer = await answerInvitationDm(h.services, { action: 'decline', token, displayName: 'Dee' });
    expect(answer.replace.text).toBe(`You declined the invitation to ${seeded.team.name}.`);
    const { rows } = await h.sql.query('select status from members where id = $1', [invitation.memberId]);
    expect(rows[0].status).toBe('closed');
  });
});

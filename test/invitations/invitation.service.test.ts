import { describe, expect, it } from 'vitest';
import { InvitationService } from '../../src/invitations/invitation.service.ts';
import { hashSecret } from '../../src/members/api-keys.ts';
import { queryAll, queryOne } from '../../src/platform/sql.ts';
import { operator } from '../../src/shared/actor.ts';
import { databaseState, expectRefusedWithoutChange } from '../helpers/database-state.ts';
import { invitationLinkToken } from '../helpers/invitation-link.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

const h = useServices();

const DAY = 24 * 60 * 60 * 1000;

/** Invitations whose clock the test moves; the rest of the services keep real time. */
function invitationsAt(start: Date) {
  const clock = { now: start };
  const service = new InvitationService(h.orm, () => clock.now);
  return {
    service,
    advance(ms: number) {
      clock.now = new Date(clock.now.getTime() + ms);
    },
  };
}

/** The outbox job names the invitation and its nonce; the token is derived from them when sending. */
async function tokenOf(invitationId: number): Promise<string> {
  const rows = await queryAll<{
    job: string;
    payload: { invitationId: number; nonce: string };
    dedup_key: string;
  }>(h.orm.em.fork(), `select job, payload, dedup_key from outbox where payload->>'invitationId' = ?`, [
    String(invitationId),
  ]);
  expect(rows).toHaveLength(1);
  const nonce = rows[0]!.payload.nonce;
  expect(rows[0]).toMatchObject({
    job: 'invitation.send',
    dedup_key: `invitation-${invitationId}-${nonce}`,
  });
  expect(Object.keys(rows[0]!.payload).sort()).toEqual(['invitationId', 'nonce']);
  return invitationLinkToken(h.services, invitationId);
}

async function memberStatus(id: number) {
  return (await queryOne<{ status: string }>(h.orm.em.fork(), 'select status from members where id = ?', [
    id,
  ]))!.status;
}

describe('inviting', () => {
  it('reserves an invited sub-account and queues the invitation with its token, keeping only the hash', async () => {
    const { team, admin } = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(admin.actor, {
      email: ' New.Person@Example.com ',
      role: 'ADMIN',
    });
    expect(invitation).toMatchObject({
      teamId: team.id,
      teamName: team.name,
      email: 'new.person@example.com',
      role: 'admin',
      status: 'pending',
      deliveryStatus: 'queued',
      invitedByName: 'Adam Admin',
    });
    expect(invitation.expiresAt.getTime() - Date.now()).toBeGreaterThan(7 * DAY - 60_000);
    expect(invitation.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(7 * DAY);
    const reserved = await h.services.members.show(admin.actor, { id: invitation.memberId });
    expect(reserved).toMatchObject({
      name: 'new.person',
      email: 'new.person@example.com',
      role: 'admin',
      status: 'invited',
      apiKeyPrefix: null,
    });
    const token = await tokenOf(invitation.id);
    const stored = await queryOne<{ token_hash: string }>(
      h.orm.em.fork(),
      'select token_hash from invitations where id = ?',
      [invitation.id],
    );
    expect(stored!.token_hash).toBe(hashSecret(token));
    expect(await h.services.invitations.inspect(token)).toMatchObject({
      id: invitation.id,
      status: 'pending',
    });
    expect(await h.services.invitations.list(admin.actor)).toMatchObject([{ id: invitation.id }]);
  });

  it('invites as a user unless told otherwise, and can name the person', async () => {
    const { owner } = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(owner.actor, {
      email: 'b@example.com',
      name: 'Bea',
    });
    expect(invitation.role).toBe('user');
    expect((await h.services.members.show(owner.actor, { id: invitation.memberId })).name).toBe('Bea');
  });

  it('refuses an email that is already a member or already invited, and changes nothing', async () => {
    const { owner, user } = await seedTeam(h.services);
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.invitations.invite(owner.actor, { email: user.email!.toUpperCase() }),
      {
        code: 'conflict',
        message: `${user.email} is already a member of this team or has a pending invitation`,
      },
    );
    await h.services.invitations.invite(owner.actor, { email: 'twice@example.com' });
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.invitations.invite(owner.actor, { email: 'twice@example.com' }),
      { code: 'conflict' },
    );
  });

  it.each([
    [{}, 'email', 'email is required'],
    [{ email: 'nobody' }, 'email', 'email "nobody" is not a valid email address'],
    [
      { email: 'x@example.com', role: 'owner' },
      'role',
      'role must be admin or user (ownership changes hands with /team role)',
    ],
    [{ email: 'x@example.com', role: 'boss' }, 'role', undefined],
    [{ slackUserId: 'alice' }, 'slack user', 'slack user must be a Slack user mention like @alice'],
  ])('refuses the invitation %o, naming the %s', async (input, field, message) => {
    const { owner } = await seedTeam(h.services);
    await expectRefusedWithoutChange(h.orm, () => h.services.invitations.invite(owner.actor, input), {
      code: 'validation',
      field,
      ...(message ? { message } : {}),
    });
  });

  it('invites a Slack user by mention, with no email', async () => {
    const { owner } = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(owner.actor, { slackUserId: 'UNEWBIE' });
    expect(invitation).toMatchObject({ email: null, slackUserId: 'UNEWBIE', status: 'pending' });
    expect(await h.services.members.show(owner.actor, { id: invitation.memberId })).toMatchObject({
      name: 'Invited member',
      slackUserId: 'UNEWBIE',
      status: 'invited',
    });
  });

  it('lets the operator invite on behalf of a team it names', async () => {
    const { team, owner } = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(operator, {
      email: 'ops@example.com',
      teamId: team.id,
    });
    expect(invitation).toMatchObject({ teamId: team.id, invitedByName: null });
    expect((await h.services.invitations.list(owner.actor)).map((i) => i.id)).toEqual([invitation.id]);
  });
});

describe('accepting', () => {
  it('activates the reserved sub-account with the chosen name and returns its API key once', async () => {
    const { owner } = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(owner.actor, {
      email: 'joiner@example.com',
      role: 'admin',
    });
    const token = await tokenOf(invitation.id);
    const accepted = await h.services.invitations.accept(token, { name: '  Jo   Iner ' });
    expect(accepted.member).toMatchObject({
      id: invitation.memberId,
      name: 'Jo Iner',
      email: 'joiner@example.com',
      role: 'admin',
      status: 'active',
      apiKeyPrefix: accepted.apiKey.slice(0, 10),
    });
    expect(accepted.invitation.status).toBe('accepted');
    expect((await h.services.members.authenticateApiKey(accepted.apiKey)).id).toBe(invitation.memberId);
    expect(JSON.stringify(await databaseState(h.orm))).not.toContain(accepted.apiKey);
    expect(await h.services.invitations.list(owner.actor)).toEqual([]);
    expect((await h.services.invitations.list(owner.actor, { status: 'accepted' })).map((i) => i.id)).toEqual(
      [invitation.id],
    );
  });

  it('works once: a used link is refused and changes nothing, even when clicked twice at once', async () => {
    const { owner } = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(owner.actor, { email: 'double@example.com' });
    const token = await tokenOf(invitation.id);
    const outcomes = await Promise.allSettled([
      h.services.invitations.accept(token, { name: 'First' }),
      h.services.invitations.accept(token, { name: 'Second' }),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.find((o) => o.status === 'rejected')).toMatchObject({
      reason: { code: 'conflict', message: 'This invitation has been used already' },
    });
    await expectRefusedWithoutChange(h.orm, () => h.services.invitations.accept(token, { name: 'Third' }), {
      code: 'conflict',
      message: 'This invitation has been used already',
    });
    await expectRefusedWithoutChange(h.orm, () => h.services.invitations.decline(token), {
      code: 'conflict',
      message: 'This invitation has been used already',
    });
  });

  it('refuses an unknown link', async () => {
    await expectRefusedWithoutChange(h.orm, () => h.services.invitations.accept('made-up', { name: 'X' }), {
      code: 'not_found',
      message: 'This invitation link is not valid',
    });
    await expect(h.services.invitations.inspect('made-up')).rejects.toMatchObject({ code: 'not_found' });
  });

  it('asks for a name before using up the link', async () => {
    const { owner } = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(owner.actor, { email: 'noname@example.com' });
    const token = await tokenOf(invitation.id);
    await expectRefusedWithoutChange(h.orm, () => h.services.invitations.accept(token, { name: ' ' }), {
      code: 'validation',
      field: 'name',
      message: 'name is required',
    });
    expect((await h.services.invitations.accept(token, { name: 'Named' })).member.status).toBe('active');
  });

  it('declining ends the invitation and frees the email for a new one', async () => {
    const { owner } = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(owner.actor, { email: 'maybe@example.com' });
    const token = await tokenOf(invitation.id);
    expect((await h.services.invitations.decline(token)).status).toBe('revoked');
    expect(await memberStatus(invitation.memberId)).toBe('closed');
    await expectRefusedWithoutChange(h.orm, () => h.services.invitations.accept(token, { name: 'Late' }), {
      code: 'conflict',
      message: 'This invitation has been revoked',
    });
    const again = await h.services.invitations.invite(owner.actor, { email: 'maybe@example.com' });
    expect(again.memberId).not.toBe(invitation.memberId);
  });
});

describe('revoking', () => {
  it('revokes by id or by email; the link then stops working and the reserved account closes', async () => {
    const { owner, admin } = await seedTeam(h.services);
    const byId = await h.services.invitations.invite(owner.actor, { email: 'one@example.com' });
    const byEmail = await h.services.invitations.invite(owner.actor, { email: 'two@example.com' });
    expect((await h.services.invitations.revoke(admin.actor, { id: byId.id })).status).toBe('revoked');
    expect((await h.services.invitations.revoke(admin.actor, { email: 'TWO@example.com' })).id).toBe(
      byEmail.id,
    );
    for (const invitation of [byId, byEmail]) {
      expect(await memberStatus(invitation.memberId)).toBe('closed');
      await expectRefusedWithoutChange(
        h.orm,
        async () => h.services.invitations.accept(await tokenOf(invitation.id), { name: 'Too late' }),
        { code: 'conflict', message: 'This invitation has been revoked' },
      );
    }
    expect(await h.services.invitations.list(owner.actor)).toEqual([]);
    expect((await h.services.invitations.list(owner.actor, { status: 'all' })).map((i) => i.id)).toEqual([
      byEmail.id,
      byId.id,
    ]);
  });

  it('refuses to revoke twice, or what does not exist', async () => {
    const { owner } = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(owner.actor, { email: 'gone@example.com' });
    await h.services.invitations.revoke(owner.actor, { id: invitation.id });
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.invitations.revoke(owner.actor, { id: invitation.id }),
      {
        code: 'conflict',
        message: `Invitation #${invitation.id} is already revoked`,
      },
    );
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.invitations.revoke(owner.actor, { email: 'gone@example.com' }),
      { code: 'not_found', message: 'There is no invitation for gone@example.com' },
    );
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.invitations.revoke(owner.actor, { id: 987_654 }),
      {
        code: 'not_found',
        message: 'There is no invitation #987654',
      },
    );
    await expectRefusedWithoutChange(h.orm, () => h.services.invitations.revoke(owner.actor, { id: -1 }), {
      code: 'validation',
      field: 'invitation id',
    });
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.invitations.revoke(owner.actor, { email: 'nope' }),
      {
        code: 'validation',
        field: 'email',
      },
    );
  });
});

describe('expiry', () => {
  it('a link is good until its expiry and refused from then on; the reserved account closes', async () => {
    const { owner } = await seedTeam(h.services);
    const clock = invitationsAt(new Date('2026-03-01T09:00:00Z'));
    const late = await clock.service.invite(owner.actor, { email: 'late@example.com' });
    const onTime = await clock.service.invite(owner.actor, { email: 'ontime@example.com' });
    expect(late.expiresAt).toEqual(new Date('2026-03-08T09:00:00Z'));

    clock.advance(7 * DAY - 1);
    expect((await clock.service.accept(await tokenOf(onTime.id), { name: 'On Time' })).member.status).toBe(
      'active',
    );

    clock.advance(1);
    const lateToken = await tokenOf(late.id);
    expect((await clock.service.inspect(lateToken)).status).toBe('expired');
    expect((await clock.service.list(owner.actor, { status: 'expired' })).map((i) => i.id)).toEqual([
      late.id,
    ]);
    expect(await clock.service.list(owner.actor)).toEqual([]);
    await expect(clock.service.accept(lateToken, { name: 'Too Late' })).rejects.toMatchObject({
      code: 'conflict',
      message: 'This invitation has expired',
    });
    expect(await memberStatus(late.memberId)).toBe('closed');
    const [expiredEvent] = await h.services.audit.list(owner.actor, { limit: 1 });
    expect(expiredEvent).toMatchObject({
      action: 'invitation.expired',
      actorKind: 'system',
      subjectMemberId: late.memberId,
      details: { invitationId: late.id, expiresAt: '2026-03-08T09:00:00.000Z' },
    });
    await expectRefusedWithoutChange(h.orm, () => clock.service.accept(lateToken, { name: 'Again' }), {
      code: 'conflict',
    });
    // The email may be invited again.
    const again = await clock.service.invite(owner.actor, { email: 'late@example.com' });
    expect(again.status).toBe('pending');
  });
});

describe('re-sending', () => {
  it('an earlier send that reports late does not mark the re-send as sent or failed', async () => {
    const { admin } = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(admin.actor, { email: 'late@example.com' });
    const nonceNow = async () =>
      (await queryOne<{ token_nonce: string }>(
        h.orm.em.fork(),
        'select token_nonce from invitations where id = ?',
        [invitation.id],
      ))!.token_nonce;
    const firstNonce = await nonceNow();
    await h.services.invitations.resend(admin.actor, { id: invitation.id });
    expect(await nonceNow()).not.toBe(firstNonce);

    // The first email's job finishes only now: its outcome is about a link that no longer works.
    await h.services.invitations.recordDelivery(invitation.id, { sent: true, nonce: firstNonce });
    await h.services.invitations.recordDelivery(invitation.id, {
      error: '550 late refusal',
      permanent: true,
      nonce: firstNonce,
    });
    const [view] = await h.services.invitations.list(admin.actor, { status: 'pending' });
    expect(view).toMatchObject({ id: invitation.id, deliveryStatus: 'queued', deliveryError: null });

    await h.services.invitations.recordDelivery(invitation.id, { sent: true, nonce: await nonceNow() });
    const [sent] = await h.services.invitations.list(admin.actor, { status: 'pending' });
    expect(sent).toMatchObject({ id: invitation.id, deliveryStatus: 'sent' });
  });
});

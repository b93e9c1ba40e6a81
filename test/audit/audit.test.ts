import { describe, expect, it } from 'vitest';
import type { AuditView } from '../../src/audit/audit.service.ts';
import { type Actor, memberActor, operator } from '../../src/shared/actor.ts';
import { invitationLinkToken } from '../helpers/invitation-link.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

const h = useServices();

/** Reads the team's trail as the owner sees it, handing back only what happened since the last read, oldest first. */
function trail(owner: Actor) {
  let seen = 0n;
  return async (): Promise<AuditView[]> => {
    const events = (await h.services.audit.list(owner, { limit: 500 })).filter((e) => BigInt(e.id) > seen);
    if (events.length > 0) seen = BigInt(events[0]!.id);
    return events.reverse();
  };
}

async function tokenOf(invitationId: number): Promise<string> {
  return invitationLinkToken(h.services, invitationId);
}

describe('audit trail', () => {
  it('records team setup and the operator top-up with the master balance before and after', async () => {
    const { team, owner } = await h.services.teams.setup({
      slackTeamId: `TAUDIT${process.pid}`,
      name: 'Audited',
      owner: { name: 'Ann', slackUserId: 'UANN' },
      via: 'slack',
    });
    await h.services.ledger.topUp(operator, { teamId: team.id, amount: '100', reference: 'PO-7' });
    const events = await h.services.audit.list(operator, { teamId: team.id });
    expect(events.reverse()).toMatchObject([
      {
        action: 'team.setup',
        actorKind: 'member',
        actorMemberId: owner.id,
        via: 'slack',
        subjectMemberId: owner.id,
        details: { name: 'Audited', currency: 'EUR', owner: 'Ann' },
      },
      {
        action: 'ledger.master_topup',
        actorKind: 'operator',
        actorMemberId: null,
        via: 'cli',
        subjectMemberId: null,
        details: { amount: '100000000', reason: 'PO-7', masterBefore: '0', masterAfter: '100000000' },
      },
    ]);
  });

  it('records who moved money, through what, and every balance before and after', async () => {
    const { owner, admin, user } = await seedTeam(h.services, { masterBalance: '100' });
    const next = trail(owner.actor);
    await next();
    const viaSlack = memberActor(admin.id, 'slack');
    const credit = await h.services.ledger.credit(viaSlack, {
      member: { id: user.id },
      amount: '12.5',
      reason: 'Q1',
    });
    await h.services.ledger.debit(owner.actor, { member: { id: user.id }, amount: '2.25' });
    expect(await next()).toMatchObject([
      {
        action: 'ledger.credit',
        actorKind: 'member',
        actorMemberId: admin.id,
        via: 'slack',
        subjectMemberId: user.id,
        details: {
          transferId: credit.transferId,
          amount: '12500000',
          reason: 'Q1',
          masterBefore: '100000000',
          masterAfter: '87500000',
          memberBefore: '0',
          memberAfter: '12500000',
        },
      },
      {
        action: 'ledger.debit',
        actorMemberId: owner.id,
        via: 'api',
        details: {
          amount: '2250000',
          masterBefore: '87500000',
          masterAfter: '89750000',
          memberBefore: '12500000',
          memberAfter: '10250000',
        },
      },
    ]);
    // A replayed idempotency key moved nothing, so it records nothing.
    await h.services.ledger.credit(owner.actor, {
      member: { id: user.id },
      amount: '1',
      idempotencyKey: 'once',
    });
    await next();
    await h.services.ledger.credit(owner.actor, {
      member: { id: user.id },
      amount: '1',
      idempotencyKey: 'once',
    });
    expect(await next()).toEqual([]);
  });

  it('records every change to a member, with the values before and after', async () => {
    const { owner, admin } = await seedTeam(h.services, { masterBalance: '50' });
    const next = trail(owner.actor);
    await next();
    const created = await h.services.members.create(admin.actor, { name: 'Ops', email: 'ops@example.com' });
    const ops = created.member.id;
    await h.services.members.disable(memberActor(admin.id, 'slack'), { id: ops });
    await h.services.members.enable(admin.actor, { id: ops });
    const rotated = await h.services.members.rotateKey(owner.actor, { id: ops });
    await h.services.members.link(owner.actor, { id: ops }, 'UOPS');
    await h.services.autoRecharge.set(admin.actor, {
      member: { id: ops },
      threshold: '1',
      amount: '5',
      dailyCap: '20',
    });
    await h.services.autoRecharge.off(admin.actor, { id: ops });
    await h.services.ledger.credit(owner.actor, { member: { id: ops }, amount: '7' });
    await h.services.members.close(admin.actor, { id: ops });
    await h.services.teams.setAlerts(owner.actor, { channel: 'C0ALERTS', level: '3' });

    const events = await next();
    expect(events.map((e) => e.action)).toEqual([
      'member.created',
      'member.disabled',
      'member.enabled',
      'member.key_rotated',
      'member.linked',
      'autorecharge.set',
      'autorecharge.off',
      'ledger.credit',
      'ledger.close_out',
      'member.closed',
      'team.alerts',
    ]);
    expect(events.filter((e) => e.action !== 'team.alerts').every((e) => e.subjectMemberId === ops)).toBe(
      true,
    );
    expect(events).toMatchObject([
      { actorMemberId: admin.id, via: 'api', details: { name: 'Ops', email: 'ops@example.com' } },
      { actorMemberId: admin.id, via: 'slack', details: { before: 'active', after: 'inactive' } },
      { details: { before: 'inactive', after: 'active' } },
      {
        actorMemberId: owner.id,
        details: { before: created.member.apiKeyPrefix, after: rotated.member.apiKeyPrefix },
      },
      { details: { before: null, after: 'UOPS' } },
      { details: { before: null, after: { threshold: '1000000', amount: '5000000', dailyCap: '20000000' } } },
      { details: { before: { threshold: '1000000', amount: '5000000', dailyCap: '20000000' } } },
      { details: { amount: '7000000', memberBefore: '0', memberAfter: '7000000' } },
      {
        actorMemberId: admin.id,
        details: {
          amount: '7000000',
          masterBefore: '43000000',
          masterAfter: '50000000',
          memberBefore: '7000000',
          memberAfter: '0',
        },
      },
      { details: { before: 'active', returned: '7000000' } },
      {
        subjectMemberId: null,
        details: {
          before: { channel: null, level: '1000000' },
          after: { channel: 'C0ALERTS', level: '3000000' },
        },
      },
    ]);
    // No key ever reaches the trail.
    expect(JSON.stringify(events)).not.toContain(rotated.apiKey);
  });

  it('records invitations and role changes, and who decided them', async () => {
    const { owner, admin, user } = await seedTeam(h.services);
    const next = trail(owner.actor);
    await next();
    const accepted = await h.services.invitations.invite(admin.actor, {
      email: 'yes@example.com',
      role: 'admin',
    });
    const declined = await h.services.invitations.invite(admin.actor, { email: 'no@example.com' });
    const revoked = await h.services.invitations.invite(owner.actor, { email: 'never@example.com' });
    await h.services.invitations.accept(await tokenOf(accepted.id), { name: 'Yes Person' });
    await h.services.invitations.decline(await tokenOf(declined.id));
    await h.services.invitations.revoke(admin.actor, { email: 'never@example.com' });
    const promote = await h.services.approvals.request(admin.actor, {
      member: { id: user.id },
      role: 'admin',
    });
    await h.services.approvals.approve(owner.actor, promote.id);
    const demote = await h.services.approvals.request(owner.actor, {
      member: { id: admin.id },
      role: 'user',
    });
    await h.services.approvals.deny(owner.actor, demote.id);

    expect(await next()).toMatchObject([
      {
        action: 'invitation.created',
        actorMemberId: admin.id,
        subjectMemberId: accepted.memberId,
        details: { invitationId: accepted.id, email: 'yes@example.com', role: 'admin' },
      },
      { action: 'invitation.created', subjectMemberId: declined.memberId },
      { action: 'invitation.created', actorMemberId: owner.id, subjectMemberId: revoked.memberId },
      {
        action: 'invitation.accepted',
        actorKind: 'member',
        actorMemberId: accepted.memberId,
        details: { invitationId: accepted.id, name: 'Yes Person' },
      },
      { action: 'invitation.declined', actorKind: 'system', subjectMemberId: declined.memberId },
      { action: 'invitation.revoked', actorMemberId: admin.id, details: { invitationId: revoked.id } },
      {
        action: 'role.requested',
        actorMemberId: admin.id,
        subjectMemberId: user.id,
        details: { requestId: promote.id, before: 'user', after: 'admin' },
      },
      {
        action: 'role.approved',
        actorMemberId: owner.id,
        details: { requestId: promote.id, before: 'user' },
      },
      { action: 'role.requested', subjectMemberId: admin.id, details: { before: 'admin', after: 'user' } },
      { action: 'role.denied', actorMemberId: owner.id, details: { requestId: demote.id } },
    ]);
    // An approval clicked twice changed nothing, so it records nothing.
    await h.services.approvals.approve(owner.actor, promote.id);
    expect(await next()).toEqual([]);
  });

  it('shows the trail newest first, to the owner and admins of the team only', async () => {
    const a = await seedTeam(h.services);
    const b = await seedTeam(h.services);
    const events = await h.services.audit.list(a.admin.actor, { limit: 2 });
    expect(events).toHaveLength(2);
    expect(BigInt(events[0]!.id)).toBeGreaterThan(BigInt(events[1]!.id));
    await expect(h.services.audit.list(a.user.actor)).rejects.toMatchObject({
      code: 'forbidden',
      message: 'Only the owner and admins can read the audit trail',
    });
    await expect(h.services.audit.list(b.owner.actor, { teamId: a.team.id })).rejects.toMatchObject({
      code: 'forbidden',
    });
    expect((await h.services.audit.list(b.owner.actor)).every((e) => e.actorMemberId !== a.owner.id)).toBe(
      true,
    );
    await expect(h.services.audit.list(a.owner.actor, { limit: Number.NaN })).rejects.toMatchObject({
      code: 'validation',
      field: 'limit',
    });
  });
});

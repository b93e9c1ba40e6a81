import { describe, expect, it } from 'vitest';
import { queryAll } from '../../src/platform/sql.ts';
import { memberActor, operator } from '../../src/shared/actor.ts';
import { databaseState, expectRefusedWithoutChange } from '../helpers/database-state.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

const h = useServices();

async function roles(teamId: number) {
  const rows = await queryAll<{ name: string; role: string }>(
    h.orm.em.fork(),
    "select name, role from members where team_id = ? and status <> 'closed' order by id",
    [teamId],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.role]));
}

/** A team with a second admin, so that one admin can ask and another decide. */
async function seedWithTwoAdmins() {
  const team = await seedTeam(h.services);
  const second = await h.services.members.create(team.owner.actor, { name: 'Ada Second' });
  const request = await h.services.approvals.request(team.owner.actor, {
    member: { id: second.member.id },
    role: 'admin',
  });
  await h.services.approvals.approve(team.owner.actor, request.id);
  return { ...team, admin2: { ...second.member, actor: memberActor(second.member.id, 'slack') } };
}

describe('role change requests', () => {
  it('changes the role only once approved, and a second approval changes nothing', async () => {
    const { team, owner, admin, user } = await seedTeam(h.services);
    const request = await h.services.approvals.request(admin.actor, {
      member: { email: user.email! },
      role: 'ADMIN',
    });
    expect(request).toMatchObject({
      memberId: user.id,
      memberName: 'Uma User',
      fromRole: 'user',
      toRole: 'admin',
      status: 'pending',
      requestedById: admin.id,
      decidedById: null,
    });
    expect((await roles(team.id))['Uma User']).toBe('user');

    const approved = await h.services.approvals.approve(owner.actor, request.id);
    expect(approved.changed).toBe(true);
    expect(approved.request).toMatchObject({
      status: 'approved',
      decidedById: owner.id,
      decidedByName: 'Olivia Owner',
    });
    expect((await roles(team.id))['Uma User']).toBe('admin');

    const before = await databaseState(h.orm);
    const again = await h.services.approvals.approve(owner.actor, request.id);
    const denied = await h.services.approvals.deny(owner.actor, request.id);
    expect([again.changed, denied.changed]).toEqual([false, false]);
    expect(denied.request.status).toBe('approved');
    expect(await databaseState(h.orm)).toEqual(before);
  });

  it('leaves the role as it was when denied', async () => {
    const { team, owner, admin } = await seedTeam(h.services);
    const request = await h.services.approvals.request(owner.actor, {
      member: { id: admin.id },
      role: 'user',
    });
    const denied = await h.services.approvals.deny(owner.actor, request.id);
    expect(denied).toMatchObject({ changed: true, request: { status: 'denied', decidedById: owner.id } });
    expect((await roles(team.id))['Adam Admin']).toBe('admin');
    expect((await h.services.approvals.approve(owner.actor, request.id)).changed).toBe(false);
    expect((await roles(team.id))['Adam Admin']).toBe('admin');
  });

  it('decides once when two people click at the same moment', async () => {
    const { team, owner, admin2, user } = await seedWithTwoAdmins();
    const request = await h.services.approvals.request(owner.actor, {
      member: { id: user.id },
      role: 'admin',
    });
    const results = await Promise.all([
      h.services.approvals.approve(owner.actor, request.id),
      h.services.approvals.deny(admin2.actor, request.id),
      h.services.approvals.approve(admin2.actor, request.id),
    ]);
    expect(results.filter((r) => r.changed)).toHaveLength(1);
    const final = results.find((r) => r.changed)!.request.status;
    expect(results.every((r) => r.request.status === final)).toBe(true);
    expect((await roles(team.id))['Uma User']).toBe(final === 'approved' ? 'admin' : 'user');
  });

  it('refuses a second pending request for the same member, and requests that change nothing', async () => {
    const { owner, admin, user } = await seedTeam(h.services);
    const first = await h.services.approvals.request(owner.actor, { member: { id: user.id }, role: 'admin' });
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.approvals.request(admin.actor, { member: { id: user.id }, role: 'owner' }),
      {
        code: 'conflict',
        message: `Uma User already has a pending role change (#${first.id}) waiting for approval`,
      },
    );
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.approvals.request(owner.actor, { member: { id: admin.id }, role: 'admin' }),
      { code: 'conflict', message: 'Adam Admin is already an admin' },
    );
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.approvals.request(admin.actor, { member: { id: owner.id }, role: 'user' }),
      {
        code: 'forbidden',
        message: 'The owner stays owner until someone else becomes owner: ask for /team role <member> owner',
      },
    );
  });

  it.each([['superuser'], [''], ['Owner!']])('refuses the role %j', async (role) => {
    const { owner, user } = await seedTeam(h.services);
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.approvals.request(owner.actor, { member: { id: user.id }, role }),
      { code: 'validation', field: 'role', message: 'role must be owner, admin or user' },
    );
  });

  it('refuses requests about closed or invited members, and ownership for a disabled one', async () => {
    const { owner, user, admin } = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(owner.actor, { email: 'inv@example.com' });
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.approvals.request(owner.actor, { member: { id: invitation.memberId }, role: 'admin' }),
      { code: 'conflict', message: 'inv is invited; only active or inactive members change roles' },
    );
    await h.services.members.disable(owner.actor, { id: admin.id });
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.approvals.request(owner.actor, { member: { id: admin.id }, role: 'owner' }),
      { code: 'conflict', message: 'Adam Admin is inactive; enable it before handing over ownership' },
    );
    await h.services.members.close(owner.actor, { id: user.id });
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.approvals.request(owner.actor, { member: { id: user.id }, role: 'admin' }),
      { code: 'conflict', message: 'Uma User is closed; only active or inactive members change roles' },
    );
  });

  it('refuses to approve a request that no longer fits the member, keeping it open to deny', async () => {
    const { owner, user } = await seedTeam(h.services);
    const request = await h.services.approvals.request(owner.actor, {
      member: { id: user.id },
      role: 'admin',
    });
    await h.services.members.close(owner.actor, { id: user.id });
    await expectRefusedWithoutChange(h.orm, () => h.services.approvals.approve(owner.actor, request.id), {
      code: 'conflict',
    });
    expect((await h.services.approvals.deny(owner.actor, request.id)).changed).toBe(true);
  });

  it('names the request it cannot find, and is asked for by members only', async () => {
    const { owner, user } = await seedTeam(h.services);
    await expectRefusedWithoutChange(h.orm, () => h.services.approvals.approve(owner.actor, 99_999), {
      code: 'not_found',
      message: 'There is no role change request #99999',
    });
    await expect(h.services.approvals.get(owner.actor, 99_999)).rejects.toMatchObject({ code: 'not_found' });
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.approvals.request(operator, { member: { id: user.id }, role: 'admin' }),
      { code: 'forbidden', message: 'Role changes are asked for by a member of the team' },
    );
  });
});

describe('who decides', () => {
  it('does not let an admin decide a request it asked for; another admin or the owner may', async () => {
    const { team, owner, admin, admin2, user } = await seedWithTwoAdmins();
    const request = await h.services.approvals.request(admin.actor, {
      member: { id: user.id },
      role: 'admin',
    });
    for (const decide of [h.services.approvals.approve, h.services.approvals.deny]) {
      await expectRefusedWithoutChange(
        h.orm,
        () => decide.call(h.services.approvals, admin.actor, request.id),
        {
          code: 'forbidden',
          message: 'You asked for this change; another owner or admin must decide it',
        },
      );
    }
    expect((await h.services.approvals.approve(admin2.actor, request.id)).changed).toBe(true);
    expect((await roles(team.id))['Uma User']).toBe('admin');
    // The owner may decide what it asked for itself.
    const own = await h.services.approvals.request(owner.actor, { member: { id: user.id }, role: 'user' });
    expect((await h.services.approvals.approve(owner.actor, own.id)).changed).toBe(true);
  });

  it('does not let an admin decide a change of its own role', async () => {
    const { team, owner, admin } = await seedTeam(h.services);
    const request = await h.services.approvals.request(owner.actor, {
      member: { id: admin.id },
      role: 'user',
    });
    await expectRefusedWithoutChange(h.orm, () => h.services.approvals.deny(admin.actor, request.id), {
      code: 'forbidden',
      message: 'You cannot decide a change of your own role',
    });
    await h.services.approvals.approve(owner.actor, request.id);
    expect((await roles(team.id))['Adam Admin']).toBe('user');
  });

  it('lets only the owner decide a handover of ownership, even when an admin asked', async () => {
    const { team, owner, admin, admin2, user } = await seedWithTwoAdmins();
    const request = await h.services.approvals.request(admin.actor, {
      member: { id: user.id },
      role: 'owner',
    });
    for (const decider of [admin, admin2]) {
      await expectRefusedWithoutChange(h.orm, () => h.services.approvals.approve(decider.actor, request.id), {
        code: 'forbidden',
        message: 'Only the owner can approve handing over ownership',
      });
      await expectRefusedWithoutChange(h.orm, () => h.services.approvals.deny(decider.actor, request.id), {
        code: 'forbidden',
      });
    }
    await expectRefusedWithoutChange(h.orm, () => h.services.approvals.approve(user.actor, request.id), {
      code: 'forbidden',
      message: 'Only the owner and admins can approve role changes',
    });
    expect((await h.services.approvals.deny(owner.actor, request.id)).changed).toBe(true);
    expect((await roles(team.id))['Olivia Owner']).toBe('owner');
  });
});

describe('handing over ownership', () => {
  it('keeps exactly one owner, and can be switched back', async () => {
    const { team, owner, admin, user } = await seedTeam(h.services, { masterBalance: '40' });
    const handover = await h.services.approvals.request(owner.actor, {
      member: { id: admin.id },
      role: 'owner',
    });
    await h.services.approvals.approve(owner.actor, handover.id);
    expect(await roles(team.id)).toEqual({
      'Olivia Owner': 'admin',
      'Adam Admin': 'owner',
      'Uma User': 'user',
    });

    // The new owner now decides ownership; the old one no longer can.
    const back = await h.services.approvals.request(admin.actor, { member: { id: owner.id }, role: 'owner' });
    await expectRefusedWithoutChange(h.orm, () => h.services.approvals.approve(owner.actor, back.id), {
      code: 'forbidden',
      message: 'Only the owner can approve handing over ownership',
    });
    await h.services.approvals.approve(admin.actor, back.id);
    expect(await roles(team.id)).toEqual({
      'Olivia Owner': 'owner',
      'Adam Admin': 'admin',
      'Uma User': 'user',
    });
    // The master balance belongs to the team, whoever owns it.
    expect((await h.services.teams.get(owner.actor)).masterBalance).toBe(40_000_000n);
    expect((await h.services.members.show(owner.actor, { id: user.id })).role).toBe('user');
  });

  it('hands ownership straight to a user, the old owner staying on as admin', async () => {
    const { team, owner, user } = await seedTeam(h.services);
    const request = await h.services.approvals.request(owner.actor, {
      member: { id: user.id },
      role: 'owner',
    });
    await h.services.approvals.approve(owner.actor, request.id);
    expect(await roles(team.id)).toEqual({
      'Olivia Owner': 'admin',
      'Adam Admin': 'admin',
      'Uma User': 'owner',
    });
    // The new owner cannot be disabled or deleted; the old one now can.
    await expect(h.services.members.disable(owner.actor, { id: user.id })).rejects.toMatchObject({
      code: 'forbidden',
    });
    expect((await h.services.members.disable(user.actor, { id: owner.id })).status).toBe('inactive');
  });

  it('never leaves two owners when two handovers are approved at once', async () => {
    const { team, owner, admin, user } = await seedTeam(h.services);
    const toAdmin = await h.services.approvals.request(owner.actor, {
      member: { id: admin.id },
      role: 'owner',
    });
    const toUser = await h.services.approvals.request(owner.actor, {
      member: { id: user.id },
      role: 'owner',
    });
    const outcomes = await Promise.allSettled([
      h.services.approvals.approve(owner.actor, toAdmin.id),
      h.services.approvals.approve(owner.actor, toUser.id),
    ]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.find((o) => o.status === 'rejected')).toMatchObject({ reason: { code: 'forbidden' } });
    const owners = Object.values(await roles(team.id)).filter((role) => role === 'owner');
    expect(owners).toHaveLength(1);
  });
});

describe('seeing a request', () => {
  it('shows managers any request of the team, and a user only requests about itself', async () => {
    const { owner, admin, user } = await seedTeam(h.services);
    const aboutUser = await h.services.approvals.request(owner.actor, {
      member: { id: user.id },
      role: 'admin',
    });
    const aboutAdmin = await h.services.approvals.request(owner.actor, {
      member: { id: admin.id },
      role: 'user',
    });
    expect((await h.services.approvals.get(admin.actor, aboutUser.id)).memberId).toBe(user.id);
    expect((await h.services.approvals.get(user.actor, aboutUser.id)).status).toBe('pending');
    await expect(h.services.approvals.get(user.actor, aboutAdmin.id)).rejects.toMatchObject({
      code: 'forbidden',
      message: "Only the owner and admins can see other members' role changes",
    });
  });

  it('remembers the Slack message that holds the buttons', async () => {
    const { owner, user } = await seedTeam(h.services);
    const request = await h.services.approvals.request(owner.actor, {
      member: { id: user.id },
      role: 'admin',
    });
    await h.services.approvals.recordSlackMessage(request.id, 'C0ROLES', '1700000000.000100');
    expect(await h.services.approvals.get(owner.actor, request.id)).toMatchObject({
      slackChannel: 'C0ROLES',
      slackTs: '1700000000.000100',
    });
  });
});

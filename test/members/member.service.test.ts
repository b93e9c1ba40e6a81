import { describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/members/api-keys.ts';
import { queryAll, queryOne } from '../../src/platform/sql.ts';
import { memberActor, operator } from '../../src/shared/actor.ts';
import { databaseState, expectRefusedWithoutChange } from '../helpers/database-state.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

const h = useServices();

async function memberRow(id: number) {
  return queryOne<{
    api_key_hash: string | null;
    api_key_prefix: string | null;
    status: string;
    balance: string;
  }>(h.orm.em.fork(), 'select api_key_hash, api_key_prefix, status, balance from members where id = ?', [id]);
}

describe('creating a sub-account', () => {
  it('returns the API key once and stores only its hash and a short visible prefix', async () => {
    const { owner } = await seedTeam(h.services);
    const { member, apiKey } = await h.services.members.create(owner.actor, {
      name: ' Sales  EMEA ',
      email: 'Sales@Example.com',
    });
    expect(member).toMatchObject({
      name: 'Sales EMEA',
      email: 'sales@example.com',
      role: 'user',
      status: 'active',
      balance: 0n,
    });
    expect(apiKey).toMatch(/^tok_[\w-]{32}$/);
    expect(member.apiKeyPrefix).toBe(apiKey.slice(0, 10));
    expect(await memberRow(member.id)).toMatchObject({
      api_key_hash: hashSecret(apiKey),
      api_key_prefix: apiKey.slice(0, 10),
    });
    // Nowhere in the database, not in the audit trail, not in a queued job.
    expect(JSON.stringify(await databaseState(h.orm))).not.toContain(apiKey);
    expect(await h.services.members.show(owner.actor, { id: member.id })).not.toHaveProperty('apiKey');
  });

  it('authenticates with the key it returned, and refuses anything else', async () => {
    const { admin } = await seedTeam(h.services);
    const { member, apiKey } = await h.services.members.create(admin.actor, { name: 'Support' });
    expect(await h.services.members.authenticateApiKey(apiKey)).toMatchObject({ id: member.id, email: null });
    expect(await h.services.members.authenticateApiKey(` ${apiKey}\n`)).toMatchObject({ id: member.id });
    await expect(h.services.members.authenticateApiKey(`${apiKey}x`)).rejects.toMatchObject({
      code: 'unauthenticated',
      message: 'The API key is not valid',
    });
    await expect(h.services.members.authenticateApiKey('  ')).rejects.toMatchObject({
      code: 'unauthenticated',
      message: 'An API key is required',
    });
  });

  it('replaces the key on rotation: the old one stops working at once, the new one works', async () => {
    const { owner, user } = await seedTeam(h.services);
    const rotated = await h.services.members.rotateKey(owner.actor, { id: user.id });
    expect(rotated.apiKey).not.toBe(user.apiKey);
    expect(rotated.member.apiKeyPrefix).toBe(rotated.apiKey.slice(0, 10));
    await expect(h.services.members.authenticateApiKey(user.apiKey)).rejects.toMatchObject({
      code: 'unauthenticated',
    });
    expect((await h.services.members.authenticateApiKey(rotated.apiKey)).id).toBe(user.id);
    expect(await memberRow(user.id)).toMatchObject({ api_key_hash: hashSecret(rotated.apiKey) });
  });

  it('refuses to rotate the key of a closed or invited sub-account', async () => {
    const { owner, user } = await seedTeam(h.services);
    await h.services.members.close(owner.actor, { id: user.id });
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.members.rotateKey(owner.actor, { id: user.id }),
      {
        code: 'conflict',
        message: 'Uma User is closed and has no key to rotate',
      },
    );
    const invitation = await h.services.invitations.invite(owner.actor, { email: 'later@example.com' });
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.members.rotateKey(owner.actor, { id: invitation.memberId }),
      { code: 'conflict', message: 'later is invited and has no key to rotate' },
    );
  });

  it('refuses an email already used in the team, whatever its case, but frees it when the member closes', async () => {
    const { owner, user } = await seedTeam(h.services);
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.members.create(owner.actor, { name: 'Copy', email: user.email!.toUpperCase() }),
      { code: 'conflict', message: `${user.email} is already a member of this team` },
    );
    await h.services.members.close(owner.actor, { id: user.id });
    const again = await h.services.members.create(owner.actor, { name: 'Uma Again', email: user.email });
    expect(again.member.status).toBe('active');
  });

  it('lets another team use the same email', async () => {
    const a = await seedTeam(h.services);
    const b = await seedTeam(h.services);
    const created = await h.services.members.create(b.owner.actor, { name: 'Shared', email: a.user.email });
    expect(created.member.teamId).toBe(b.team.id);
  });

  it.each([
    [{ name: '' }, 'name', 'name is required'],
    [{ name: 'n'.repeat(101) }, 'name', 'name must be at most 100 characters'],
    [{ name: 'Ok', email: 'nope@' }, 'email', 'email "nope@" is not a valid email address'],
  ])('refuses %o, naming the %s', async (input, field, message) => {
    const { owner } = await seedTeam(h.services);
    await expectRefusedWithoutChange(h.orm, () => h.services.members.create(owner.actor, input), {
      code: 'validation',
      field,
      message,
    });
  });
});

describe('listing and showing members', () => {
  it('filters by status and pages through the team in creation order', async () => {
    const { owner, admin, user } = await seedTeam(h.services);
    const extra = [];
    for (const name of ['Dept A', 'Dept B', 'Dept C']) {
      extra.push((await h.services.members.create(owner.actor, { name })).member);
    }
    await h.services.members.disable(owner.actor, { id: extra[0]!.id });
    await h.services.members.close(owner.actor, { id: extra[1]!.id });
    const invitation = await h.services.invitations.invite(owner.actor, { email: 'new@example.com' });

    const all = await h.services.members.list(admin.actor, { limit: 100 });
    expect(all.total).toBe(7);
    expect(all.items.map((m) => m.id)).toEqual(
      [owner.id, admin.id, user.id, ...extra.map((m) => m.id), invitation.memberId].sort((x, y) => x - y),
    );
    const names = async (status: string) =>
      (await h.services.members.list(owner.actor, { status })).items.map((m) => m.name);
    expect(await names('active')).toEqual(['Olivia Owner', 'Adam Admin', 'Uma User', 'Dept C']);
    expect(await names('inactive')).toEqual(['Dept A']);
    expect(await names('closed')).toEqual(['Dept B']);
    expect(await names(' INVITED ')).toEqual(['new']);

    const page1 = await h.services.members.list(owner.actor, { page: 1, limit: 3 });
    const page3 = await h.services.members.list(owner.actor, { page: 3, limit: 3 });
    const page4 = await h.services.members.list(owner.actor, { page: 4, limit: 3 });
    expect(page1).toMatchObject({ total: 7, page: 1, limit: 3 });
    expect(page1.items.map((m) => m.name)).toEqual(['Olivia Owner', 'Adam Admin', 'Uma User']);
    expect(page3.items.map((m) => m.name)).toEqual(['new']);
    expect(page4.items).toEqual([]);
  });

  it('keeps the page size between 1 and 100', async () => {
    const { owner } = await seedTeam(h.services);
    expect((await h.services.members.list(owner.actor, { limit: 0 })).limit).toBe(1);
    expect((await h.services.members.list(owner.actor, { limit: 1000 })).limit).toBe(100);
    expect((await h.services.members.list(owner.actor, { page: -3 })).page).toBe(1);
  });

  it.each([
    [{ status: 'deleted' }, 'status', 'status must be one of active, inactive, invited, closed'],
    [{ page: Number.NaN }, 'page', 'page must be a whole number'],
    [{ limit: Number.NaN }, 'limit', 'limit must be a whole number'],
  ])('refuses the list filter %o', async (input, field, message) => {
    const { owner } = await seedTeam(h.services);
    await expect(h.services.members.list(owner.actor, input)).rejects.toMatchObject({
      code: 'validation',
      field,
      message,
    });
  });

  it('finds a member by id, by email in any case, or by Slack user, with its auto-recharge rule', async () => {
    const { owner, user } = await seedTeam(h.services);
    await h.services.members.link(owner.actor, { id: user.id }, 'UUMA42');
    await h.services.autoRecharge.set(owner.actor, { member: { id: user.id }, threshold: '5', amount: '20' });
    for (const ref of [{ id: user.id }, { email: user.email!.toUpperCase() }, { slackUserId: 'UUMA42' }]) {
      expect(await h.services.members.show(owner.actor, ref)).toMatchObject({
        id: user.id,
        slackUserId: 'UUMA42',
        autoRecharge: { threshold: 5_000_000n, amount: 20_000_000n, dailyCap: null },
      });
    }
    expect((await h.services.members.show(owner.actor, { id: owner.id })).autoRecharge).toBeNull();
  });

  it('names the member it cannot find', async () => {
    const { owner } = await seedTeam(h.services);
    await expect(h.services.members.show(owner.actor, { id: 424_242 })).rejects.toMatchObject({
      code: 'not_found',
      message: 'There is no member #424242 in this team',
    });
    await expect(h.services.members.show(owner.actor, { email: 'ghost@example.com' })).rejects.toMatchObject({
      code: 'not_found',
      message: 'There is no member ghost@example.com in this team',
    });
    await expect(h.services.members.show(owner.actor, { slackUserId: 'UGHOST' })).rejects.toMatchObject({
      code: 'not_found',
      message: 'There is no member <@UGHOST> in this team',
    });
  });

  it('does not treat an email with wildcard characters as a pattern', async () => {
    const { owner } = await seedTeam(h.services);
    await h.services.members.create(owner.actor, { name: 'Under', email: 'a_b@example.com' });
    await expect(h.services.members.show(owner.actor, { email: 'a%@example.com' })).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(h.services.members.show(owner.actor, { email: 'axb@example.com' })).rejects.toMatchObject({
      code: 'not_found',
    });
  });
});

describe('enabling and disabling', () => {
  it('refuses a disabled member its key and its commands until it is enabled again', async () => {
    const { team, owner, admin, user } = await seedTeam(h.services);
    const disabled = await h.services.members.disable(admin.actor, { id: user.id });
    expect(disabled.status).toBe('inactive');
    await expect(h.services.members.authenticateApiKey(user.apiKey)).rejects.toMatchObject({
      code: 'forbidden',
      message: 'This sub-account is inactive',
    });
    await expect(h.services.members.show(user.actor, { id: user.id })).rejects.toMatchObject({
      code: 'forbidden',
      message: `Your sub-account is inactive; ask an admin of ${team.name} to enable it`,
    });
    expect((await h.services.members.enable(owner.actor, { email: user.email! })).status).toBe('active');
    expect((await h.services.members.authenticateApiKey(user.apiKey)).id).toBe(user.id);
  });

  it('changes nothing when the member already has the asked status', async () => {
    const { owner, user } = await seedTeam(h.services);
    const before = await databaseState(h.orm);
    expect((await h.services.members.enable(owner.actor, { id: user.id })).status).toBe('active');
    expect(await databaseState(h.orm)).toEqual(before);
  });

  it('never disables the owner, nor enables a closed or invited sub-account', async () => {
    const { owner, admin, user } = await seedTeam(h.services);
    await expectRefusedWithoutChange(h.orm, () => h.services.members.disable(admin.actor, { id: owner.id }), {
      code: 'forbidden',
      message: 'The owner cannot be disabled; hand ownership to someone else first (/team role)',
    });
    await h.services.members.close(owner.actor, { id: user.id });
    await expectRefusedWithoutChange(h.orm, () => h.services.members.enable(owner.actor, { id: user.id }), {
      code: 'conflict',
      message: 'Uma User is closed and cannot be enabled',
    });
    const invitation = await h.services.invitations.invite(owner.actor, { email: 'pending@example.com' });
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.members.disable(owner.actor, { id: invitation.memberId }),
      { code: 'conflict', message: 'pending is invited and cannot be disabled' },
    );
  });

  it('still lets an admin move money to and from a disabled member', async () => {
    const { owner, user } = await seedTeam(h.services);
    await h.services.members.disable(owner.actor, { id: user.id });
    await h.services.ledger.credit(owner.actor, { member: { id: user.id }, amount: '3' });
    const debited = await h.services.ledger.debit(owner.actor, { member: { id: user.id }, amount: '1' });
    expect(debited.memberBalance).toBe(2_000_000n);
  });
});

describe('closing a sub-account', () => {
  it('returns the balance to the master, removes the rule, refuses the key, and keeps the history', async () => {
    const { owner, admin, user } = await seedTeam(h.services, { masterBalance: '100' });
    await h.services.ledger.credit(admin.actor, { member: { id: user.id }, amount: '12.345678' });
    await h.services.autoRecharge.set(admin.actor, { member: { id: user.id }, threshold: '1', amount: '5' });

    const { member, returned } = await h.services.members.close(admin.actor, { email: user.email! });
    expect(returned).toBe(12_345_678n);
    expect(member).toMatchObject({ id: user.id, status: 'closed', balance: 0n });
    expect(member.closedAt).toBeInstanceOf(Date);
    expect((await h.services.teams.get(owner.actor)).masterBalance).toBe(100_000_000n);
    await expect(h.services.members.authenticateApiKey(user.apiKey)).rejects.toMatchObject({
      code: 'unauthenticated',
    });
    expect(await h.services.members.show(owner.actor, { id: user.id })).toMatchObject({
      status: 'closed',
      autoRecharge: null,
    });
    const history = await h.services.ledger.history(owner.actor, { member: { id: user.id } });
    expect(history.map((t) => [t.kind, t.amount, t.memberBalanceAfter])).toEqual([
      ['close_out', 12_345_678n, 0n],
      ['credit', 12_345_678n, 12_345_678n],
    ]);
    expect((await h.services.members.list(owner.actor, { status: 'closed' })).items.map((m) => m.id)).toEqual(
      [user.id],
    );
    // Its email now belongs to nobody: looking it up by email finds no one.
    await expect(h.services.members.show(owner.actor, { email: user.email! })).rejects.toMatchObject({
      code: 'not_found',
    });
  });

  it('moves no money for an empty sub-account', async () => {
    const { owner, user } = await seedTeam(h.services);
    expect((await h.services.members.close(owner.actor, { id: user.id })).returned).toBe(0n);
    expect(await h.services.ledger.history(owner.actor, { member: { id: user.id } })).toEqual([]);
  });

  it('refuses to close a member twice, or the owner', async () => {
    const { owner, admin, user } = await seedTeam(h.services);
    await h.services.members.close(owner.actor, { id: user.id });
    await expectRefusedWithoutChange(h.orm, () => h.services.members.close(owner.actor, { id: user.id }), {
      code: 'conflict',
      message: 'Uma User is already closed',
    });
    await expectRefusedWithoutChange(h.orm, () => h.services.members.close(admin.actor, { id: owner.id }), {
      code: 'forbidden',
      message: 'The owner cannot be deleted; hand ownership to someone else first (/team role)',
    });
  });

  it('revokes the pending invitation of an invited member it closes', async () => {
    const { owner } = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(owner.actor, { email: 'soon@example.com' });
    await h.services.members.close(owner.actor, { id: invitation.memberId });
    const [revoked] = await h.services.invitations.list(owner.actor, { status: 'revoked' });
    expect(revoked).toMatchObject({ id: invitation.id, status: 'revoked' });
  });

  it('loses no money when credits race with the close', async () => {
    const { team, owner, user } = await seedTeam(h.services, { masterBalance: '100' });
    await h.services.ledger.credit(owner.actor, { member: { id: user.id }, amount: '10' });
    const credits = Array.from({ length: 6 }, () =>
      h.services.ledger.credit(owner.actor, { member: { id: user.id }, amount: '1' }),
    );
    const outcomes = await Promise.allSettled([
      ...credits,
      h.services.members.close(owner.actor, { id: user.id }),
    ]);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ code: 'conflict' });
    }
    const close = outcomes.at(-1)!;
    expect(close.status).toBe('fulfilled');
    const rows = await queryAll<{ balance: string; status: string }>(
      h.orm.em.fork(),
      'select balance, status from members where team_id = ?',
      [team.id],
    );
    const members = rows.reduce((sum, r) => sum + BigInt(r.balance), 0n);
    const master = (await h.services.teams.get(owner.actor)).masterBalance;
    expect(master + members).toBe(100_000_000n);
    expect(await memberRow(user.id)).toMatchObject({ status: 'closed', balance: '0' });
  });
});

describe('taking over what lets someone act as a member', () => {
  it("lets only the owner rotate the owner's or another admin's key, or link a Slack user to them", async () => {
    const { team, owner, admin, user } = await seedTeam(h.services);
    const second = await h.services.members.create(owner.actor, { name: 'Ada Second' });
    const promotion = await h.services.approvals.request(owner.actor, {
      member: { id: second.member.id },
      role: 'admin',
    });
    await h.services.approvals.approve(owner.actor, promotion.id);

    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.members.rotateKey(admin.actor, { id: owner.id }),
      {
        code: 'forbidden',
        message: "Only the owner can rotate the owner's key",
      },
    );
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.members.rotateKey(admin.actor, { id: second.member.id }),
      { code: 'forbidden', message: "Only the owner can rotate another admin's key" },
    );
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.members.link(admin.actor, { id: owner.id }, 'UTAKEOVER'),
      {
        code: 'forbidden',
        message: 'Only the owner can link a Slack user to the owner',
      },
    );
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.members.link(admin.actor, { id: second.member.id }, 'UTAKEOVER'),
      { code: 'forbidden', message: 'Only the owner can link a Slack user to another admin' },
    );
    await expect(
      h.services.members.identifySlackUser({ slackTeamId: team.slackTeamId!, slackUserId: 'UTAKEOVER' }),
    ).rejects.toMatchObject({ code: 'unauthenticated' });

    // An admin still manages users, and itself; the owner manages everyone.
    await h.services.members.rotateKey(admin.actor, { id: user.id });
    await h.services.members.link(admin.actor, { id: user.id }, 'UUMA7');
    await h.services.members.rotateKey(admin.actor, { id: admin.id });
    await h.services.members.link(admin.actor, { id: admin.id }, 'UADAM7');
    await h.services.members.rotateKey(owner.actor, { id: second.member.id });
    expect((await h.services.members.link(owner.actor, { id: second.member.id }, 'UADA7')).slackUserId).toBe(
      'UADA7',
    );
  });
});

describe('linking Slack users', () => {
  it('links a Slack user to a member, who is then recognised in Slack', async () => {
    const { team, owner, user } = await seedTeam(h.services);
    const linked = await h.services.members.link(owner.actor, { email: user.email! }, 'UUMA1');
    expect(linked.slackUserId).toBe('UUMA1');
    const identified = await h.services.members.identifySlackUser({
      slackTeamId: team.slackTeamId!,
      slackUserId: 'UUMA1',
    });
    expect(identified.id).toBe(user.id);
    // Linking again moves the link.
    await h.services.members.link(owner.actor, { id: user.id }, 'UUMA2');
    await expect(
      h.services.members.identifySlackUser({ slackTeamId: team.slackTeamId!, slackUserId: 'UUMA1' }),
    ).rejects.toMatchObject({ code: 'unauthenticated' });
  });

  it('refuses a Slack user already linked to someone else, a closed member, and a malformed user', async () => {
    const { owner, admin, user } = await seedTeam(h.services);
    await h.services.members.link(owner.actor, { id: admin.id }, 'UADAM1');
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.members.link(owner.actor, { id: user.id }, 'UADAM1'),
      {
        code: 'conflict',
        message: '<@UADAM1> is already linked to another member of this team',
      },
    );
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.members.link(owner.actor, { id: user.id }, '@uma'),
      {
        code: 'validation',
        field: 'slack user',
      },
    );
    await h.services.members.close(owner.actor, { id: user.id });
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.members.link(owner.actor, { id: user.id }, 'UUMA9'),
      {
        code: 'conflict',
        message: 'Uma User is closed',
      },
    );
  });

  it('links a Slack user automatically when their profile email is a member email', async () => {
    const { team, owner, user } = await seedTeam(h.services);
    const slackTeamId = team.slackTeamId!;
    const identified = await h.services.members.identifySlackUser({
      slackTeamId,
      slackUserId: 'UAUTO1',
      email: `  ${user.email!.toUpperCase()} `,
    });
    expect(identified).toMatchObject({ id: user.id, slackUserId: 'UAUTO1' });
    // Remembered: the next request needs no email.
    expect((await h.services.members.identifySlackUser({ slackTeamId, slackUserId: 'UAUTO1' })).id).toBe(
      user.id,
    );
    expect((await h.services.members.show(owner.actor, { id: user.id })).slackUserId).toBe('UAUTO1');
    const [event] = await h.services.audit.list(owner.actor, { limit: 1 });
    expect(event).toMatchObject({
      action: 'member.linked',
      actorKind: 'system',
      via: 'slack',
      subjectMemberId: user.id,
      details: { slackUserId: 'UAUTO1', matchedEmail: user.email },
    });
  });

  it('does not take over a member already linked to another Slack user, nor a closed one', async () => {
    const { team, owner, admin, user } = await seedTeam(h.services);
    const slackTeamId = team.slackTeamId!;
    await h.services.members.link(owner.actor, { id: admin.id }, 'UREALADAM');
    await expectRefusedWithoutChange(
      h.orm,
      () =>
        h.services.members.identifySlackUser({ slackTeamId, slackUserId: 'UIMPOSTOR', email: admin.email }),
      {
        code: 'unauthenticated',
        message: `You are not a member of ${team.name}. Ask its owner or an admin to add you with /team link`,
      },
    );
    await h.services.members.close(owner.actor, { id: user.id });
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.members.identifySlackUser({ slackTeamId, slackUserId: 'UFORMER', email: user.email }),
      { code: 'unauthenticated' },
    );
  });

  it('tells a Slack user of a workspace without a team to run setup', async () => {
    await expect(
      h.services.members.identifySlackUser({ slackTeamId: 'TNOBODY', slackUserId: 'U1' }),
    ).rejects.toMatchObject({
      code: 'unauthenticated',
      message: 'No team is set up in this workspace yet: run /team setup <team name>',
    });
  });

  it('lets the operator act for a team it names, but not without naming one', async () => {
    const { team } = await seedTeam(h.services);
    const created = await h.services.members.create(operator, { name: 'Via CLI', teamId: team.id });
    expect(created.member.teamId).toBe(team.id);
    await expect(h.services.members.create(operator, { name: 'Nowhere' })).rejects.toMatchObject({
      code: 'validation',
      field: 'team',
    });
    await expect(h.services.members.list(memberActor(created.member.id, 'api'))).resolves.toMatchObject({
      total: 1,
    });
  });
});

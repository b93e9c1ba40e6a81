import { describe, expect, it } from 'vitest';
import { memberActor, operator } from '../../src/shared/actor.ts';
import { expectRefusedWithoutChange } from '../helpers/database-state.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

const h = useServices();

let workspaceCounter = 0;
function workspace(): string {
  workspaceCounter += 1;
  return `TSETUP${process.pid}X${workspaceCounter}`;
}

describe('team setup', () => {
  it('makes the first caller the owner of a new team with an empty master balance', async () => {
    const slackTeamId = workspace();
    const { team, owner, apiKey } = await h.services.teams.setup({
      slackTeamId,
      name: '  Acme   Messaging ',
      owner: { name: 'Olga', email: 'Olga@Example.com', slackUserId: 'UOLGA1' },
      via: 'slack',
    });
    expect(team).toMatchObject({ name: 'Acme Messaging', currency: 'EUR', slackTeamId, masterBalance: 0n });
    expect(owner).toMatchObject({
      teamId: team.id,
      name: 'Olga',
      email: 'olga@example.com',
      role: 'owner',
      status: 'active',
      balance: 0n,
      slackUserId: 'UOLGA1',
    });
    expect(apiKey.startsWith(owner.apiKeyPrefix!)).toBe(true);
    expect((await h.services.members.authenticateApiKey(apiKey)).id).toBe(owner.id);
    expect((await h.services.members.identifySlackUser({ slackTeamId, slackUserId: 'UOLGA1' })).id).toBe(
      owner.id,
    );
    expect(await h.services.teams.getBySlackTeam(slackTeamId)).toMatchObject({ id: team.id });
  });

  it('takes the currency given, in any case', async () => {
    const { team } = await h.services.teams.setup({
      slackTeamId: workspace(),
      name: 'Dollar team',
      currency: 'usd',
      owner: { name: 'Dan' },
      via: 'slack',
    });
    expect(team.currency).toBe('USD');
  });

  it('refuses a second setup in the same workspace, naming the existing team, and changes nothing', async () => {
    const slackTeamId = workspace();
    await h.services.teams.setup({ slackTeamId, name: 'First', owner: { name: 'Fay' }, via: 'slack' });
    await expectRefusedWithoutChange(
      h.orm,
      () =>
        h.services.teams.setup({
          slackTeamId,
          name: 'Second',
          owner: { name: 'Sam', slackUserId: 'USAM1' },
          via: 'slack',
        }),
      {
        code: 'conflict',
        message: 'This workspace already has a team, "First"; ask its owner or an admin to add you',
      },
    );
  });

  it('makes exactly one team when two people run setup at the same moment', async () => {
    const slackTeamId = workspace();
    const outcomes = await Promise.allSettled(
      ['UA1', 'UB1', 'UC1'].map((slackUserId) =>
        h.services.teams.setup({
          slackTeamId,
          name: `Team of ${slackUserId}`,
          owner: { name: slackUserId, slackUserId },
          via: 'slack',
        }),
      ),
    );
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    const lost = outcomes.filter((o) => o.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.map((o) => (o as PromiseRejectedResult).reason.code)).toEqual(['conflict', 'conflict']);
    const team = await h.services.teams.getBySlackTeam(slackTeamId);
    const owners = await h.services.members.list(operator, { teamId: team!.id });
    expect(owners.items.map((m) => m.role)).toEqual(['owner']);
  });

  it.each([
    [{ name: '   ' }, 'team name', 'team name is required'],
    [{ name: 'x'.repeat(101) }, 'team name', 'team name must be at most 100 characters'],
    [{ currency: 'EURO' }, 'currency', 'currency must be an ISO 4217 code such as EUR or USD, not "EURO"'],
    [{ currency: 'XYZ' }, 'currency', 'currency must be an ISO 4217 code such as EUR or USD, not "XYZ"'],
    [{ owner: { name: '' } }, 'owner name', 'owner name is required'],
    [
      { owner: { name: 'Olga', email: 'not-an-email' } },
      'owner email',
      'owner email "not-an-email" is not a valid email address',
    ],
  ])('refuses bad setup input %o, naming %s', async (override, field, message) => {
    await expectRefusedWithoutChange(
      h.orm,
      () =>
        h.services.teams.setup({
          slackTeamId: workspace(),
          name: 'Fine',
          owner: { name: 'Olga' },
          via: 'slack',
          ...override,
        }),
      { code: 'validation', field, message },
    );
  });
});

describe('team details', () => {
  it('shows every member its own team, and refuses to name another', async () => {
    const a = await seedTeam(h.services, { masterBalance: '25' });
    const b = await seedTeam(h.services);
    await h.services.teams.setAlerts(a.owner.actor, { channel: 'C0ALERTS', level: '2' });
    await h.services.teams.setTimezone(a.owner.actor, { timezone: 'Europe/Berlin' });
    // A member's view is read with its caller in one statement; the operator's through the ORM: the same team.
    const asOperator = await h.services.teams.get(operator, a.team.id);
    expect(asOperator).toMatchObject({
      alertsChannel: 'C0ALERTS',
      lowBalanceLevel: 2_000_000n,
      timezone: 'Europe/Berlin',
    });
    for (const actor of [a.owner.actor, a.admin.actor, a.user.actor]) {
      expect(await h.services.teams.get(actor)).toEqual({ ...asOperator, masterBalance: 25_000_000n });
    }
    await expect(h.services.teams.get(b.user.actor, a.team.id)).rejects.toMatchObject({
      code: 'forbidden',
      message: 'That team is not yours',
    });
  });

  it('asks the operator which team it means', async () => {
    const a = await seedTeam(h.services);
    expect((await h.services.teams.get(operator, a.team.id)).id).toBe(a.team.id);
    await expect(h.services.teams.get(operator)).rejects.toMatchObject({ code: 'validation', field: 'team' });
    await expect(h.services.teams.get(operator, 987_654)).rejects.toMatchObject({
      code: 'not_found',
      message: 'Team 987654 does not exist',
    });
  });

  it('sets where low-balance alerts go and the level, keeping the level when none is given', async () => {
    const { owner, admin } = await seedTeam(h.services);
    expect((await h.services.teams.get(owner.actor)).lowBalanceLevel).toBe(1_000_000n);
    const set = await h.services.teams.setAlerts(admin.actor, { channel: 'C0ALERTS', level: '2.5' });
    expect(set).toMatchObject({ alertsChannel: 'C0ALERTS', lowBalanceLevel: 2_500_000n });
    const moved = await h.services.teams.setAlerts(owner.actor, { channel: 'C0OTHER' });
    expect(moved).toMatchObject({ alertsChannel: 'C0OTHER', lowBalanceLevel: 2_500_000n });
    const zero = await h.services.teams.setAlerts(owner.actor, { channel: 'C0OTHER', level: 0 });
    expect(zero.lowBalanceLevel).toBe(0n);
  });

  it.each([
    [{ channel: '#alerts' }, 'channel', 'channel must be a Slack channel like #alerts'],
    [{ channel: '' }, 'channel', 'channel must be a Slack channel like #alerts'],
    [{ channel: 'C0ALERTS', level: '-1' }, 'level', 'level must be greater than 0'],
    [{ channel: 'C0ALERTS', level: '1.0000001' }, 'level', 'level has more than 6 decimals'],
    [
      { channel: 'C0ALERTS', level: 'lots' },
      'level',
      'level must be a decimal number like 50 or 12.5, not "lots"',
    ],
  ])('refuses alert settings %o, naming %s', async (input, field, message) => {
    const { owner } = await seedTeam(h.services);
    await expectRefusedWithoutChange(h.orm, () => h.services.teams.setAlerts(owner.actor, input), {
      code: 'validation',
      field,
      message,
    });
  });

  it('lets only the owner and admins change alert settings', async () => {
    const { user } = await seedTeam(h.services);
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.teams.setAlerts(user.actor, { channel: 'C0ALERTS' }),
      {
        code: 'forbidden',
        message: 'Only the owner and admins can set where alerts go',
      },
    );
  });

  it('refuses a caller who is not a member at all', async () => {
    await expect(h.services.teams.get(memberActor(2_000_000, 'api'))).rejects.toMatchObject({
      code: 'unauthenticated',
    });
  });
});

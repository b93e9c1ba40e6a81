import { describe, expect, it } from 'vitest';
import { queryAll } from '../../src/platform/sql.ts';
import { databaseState, expectRefusedWithoutChange } from '../helpers/database-state.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

const h = useServices();

async function balanceLowJobs(memberId: number) {
  return queryAll<{ payload: { memberId: number } }>(
    h.orm.em.fork(),
    `select payload from outbox where job = ? and (payload->>'memberId')::int = ?`,
    ['member.balance_low', memberId],
  );
}

describe('auto-recharge rules', () => {
  it('sets a rule, shows it on the member, replaces it, and turns it off', async () => {
    const { owner, admin, user } = await seedTeam(h.services);
    await h.services.ledger.credit(owner.actor, { member: { id: user.id }, amount: '50' });
    const set = await h.services.autoRecharge.set(admin.actor, {
      member: { email: user.email! },
      threshold: '10',
      amount: 25.5,
      dailyCap: '100',
    });
    expect(set).toEqual({
      memberId: user.id,
      threshold: 10_000_000n,
      amount: 25_500_000n,
      dailyCap: 100_000_000n,
    });
    const replaced = await h.services.autoRecharge.set(owner.actor, {
      member: { id: user.id },
      threshold: 0,
      amount: '1',
    });
    expect(replaced).toEqual({ memberId: user.id, threshold: 0n, amount: 1_000_000n, dailyCap: null });
    expect((await h.services.members.show(owner.actor, { id: user.id })).autoRecharge).toEqual({
      threshold: 0n,
      amount: 1_000_000n,
      dailyCap: null,
    });
    // Above the threshold all along: nothing to recharge.
    expect(await balanceLowJobs(user.id)).toEqual([]);

    expect(await h.services.autoRecharge.off(admin.actor, { id: user.id })).toEqual({
      memberId: user.id,
      removed: true,
    });
    expect((await h.services.members.show(owner.actor, { id: user.id })).autoRecharge).toBeNull();
    const before = await databaseState(h.orm);
    expect(await h.services.autoRecharge.off(admin.actor, { id: user.id })).toEqual({
      memberId: user.id,
      removed: false,
    });
    expect(await databaseState(h.orm)).toEqual(before);
  });

  it('asks for a recharge at once when the member is already below the new threshold', async () => {
    const { owner, user } = await seedTeam(h.services);
    await h.services.autoRecharge.set(owner.actor, { member: { id: user.id }, threshold: '5', amount: '10' });
    expect(await balanceLowJobs(user.id)).toEqual([
      { payload: expect.objectContaining({ memberId: user.id }) },
    ]);
  });

  it.each([
    [{ threshold: '-1', amount: '5' }, 'threshold', 'threshold must be greater than 0'],
    [{ threshold: '1.0000001', amount: '5' }, 'threshold', 'threshold has more than 6 decimals'],
    [
      { threshold: 'low', amount: '5' },
      'threshold',
      'threshold must be a decimal number like 50 or 12.5, not "low"',
    ],
    [{ threshold: undefined, amount: '5' }, 'threshold', 'threshold is required'],
    [{ threshold: '1', amount: '0' }, 'amount', 'amount must be greater than 0'],
    [{ threshold: '1', amount: -5 }, 'amount', 'amount must be greater than 0'],
    [{ threshold: '1', amount: 0.1234567 }, 'amount', 'amount has more than 6 decimals'],
    [{ threshold: '1', amount: Number.NaN }, 'amount', 'amount must be a number'],
    [
      { threshold: '1', amount: '5', dailyCap: '4.99' },
      'daily cap',
      'daily cap must be at least the recharge amount',
    ],
    [{ threshold: '1', amount: '5', dailyCap: '0' }, 'daily cap', 'daily cap must be greater than 0'],
    [{ threshold: '1', amount: '5', dailyCap: 'lots' }, 'daily cap', undefined],
  ])('refuses %o, naming the %s', async (input, field, message) => {
    const { owner, user } = await seedTeam(h.services);
    await h.services.autoRecharge.set(owner.actor, { member: { id: user.id }, threshold: '2', amount: '3' });
    await expectRefusedWithoutChange(
      h.orm,
      () =>
        h.services.autoRecharge.set(owner.actor, {
          member: { id: user.id },
          ...(input as { threshold: string; amount: string }),
        }),
      { code: 'validation', field, ...(message ? { message } : {}) },
    );
  });

  it('refuses a rule for the owner, a closed or an invited member, or one that does not exist', async () => {
    const { owner, admin, user } = await seedTeam(h.services);
    const rule = { threshold: '1', amount: '5' };
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.autoRecharge.set(admin.actor, { member: { id: owner.id }, ...rule }),
      { code: 'conflict', message: 'Olivia Owner cannot have an auto-recharge rule' },
    );
    const invitation = await h.services.invitations.invite(owner.actor, { email: 'inv@example.com' });
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.autoRecharge.set(admin.actor, { member: { id: invitation.memberId }, ...rule }),
      { code: 'conflict' },
    );
    await h.services.members.close(owner.actor, { id: user.id });
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.autoRecharge.set(admin.actor, { member: { id: user.id }, ...rule }),
      { code: 'conflict', message: 'Uma User cannot have an auto-recharge rule' },
    );
    await expectRefusedWithoutChange(
      h.orm,
      () => h.services.autoRecharge.set(admin.actor, { member: { email: 'ghost@example.com' }, ...rule }),
      { code: 'not_found', message: 'There is no member ghost@example.com in this team' },
    );
    await expectRefusedWithoutChange(h.orm, () => h.services.autoRecharge.off(admin.actor, { id: 777_777 }), {
      code: 'not_found',
    });
  });
});

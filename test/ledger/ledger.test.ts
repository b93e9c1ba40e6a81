import { describe, expect, it } from 'vitest';
import { memberActor, operator } from '../../src/shared/actor.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

const h = useServices();

describe('credit and debit', () => {
  it('moves money between the master balance and a member, and records it', async () => {
    const { team, owner, user } = await seedTeam(h.services, { masterBalance: '100' });
    const credited = await h.services.ledger.credit(owner.actor, {
      member: { id: user.id },
      amount: '12.5',
      reason: 'Q4',
    });
    expect(credited.memberBalance).toBe(12_500_000n);
    expect(credited.masterBalance).toBe(87_500_000n);
    const debited = await h.services.ledger.debit(owner.actor, {
      member: { email: user.email! },
      amount: 2.5,
    });
    expect(debited.memberBalance).toBe(10_000_000n);
    expect(debited.masterBalance).toBe(90_000_000n);
    const history = await h.services.ledger.history(owner.actor, { member: { id: user.id } });
    expect(history.map((t) => [t.kind, t.amount])).toEqual([
      ['debit', 2_500_000n],
      ['credit', 12_500_000n],
    ]);
    expect((await h.services.teams.get(owner.actor)).masterBalance).toBe(90_000_000n);
    expect(team.currency).toBe('EUR');
  });

  it('refuses more than the master balance and changes nothing', async () => {
    const { owner, user } = await seedTeam(h.services, { masterBalance: '10' });
    await expect(
      h.services.ledger.credit(owner.actor, { member: { id: user.id }, amount: '10.000001' }),
    ).rejects.toThrow('The master balance is €10.00, not enough for €10.000001');
    const team = await h.services.teams.get(owner.actor);
    expect(team.masterBalance).toBe(10_000_000n);
    expect((await h.services.members.show(owner.actor, { id: user.id })).balance).toBe(0n);
    expect(await h.services.ledger.history(owner.actor, { member: { id: user.id } })).toEqual([]);
  });

  it('refuses to debit more than the member has', async () => {
    const { owner, user } = await seedTeam(h.services, { masterBalance: '10' });
    await h.services.ledger.credit(owner.actor, { member: { id: user.id }, amount: '3' });
    await expect(
      h.services.ledger.debit(owner.actor, { member: { id: user.id }, amount: '3.01' }),
    ).rejects.toMatchObject({
      code: 'insufficient_funds',
      message: "Uma User's balance is €3.00, not enough for €3.01",
    });
    expect((await h.services.teams.get(owner.actor)).masterBalance).toBe(7_000_000n);
  });

  it.each([
    ['0', 'amount must be greater than 0'],
    ['-5', 'amount must be greater than 0'],
    ['1.1234567', 'amount has more than 6 decimals'],
    ['ten', 'amount must be a decimal number like 50 or 12.5, not "ten"'],
  ])('refuses the amount %s', async (amount, message) => {
    const { owner, user } = await seedTeam(h.services);
    await expect(
      h.services.ledger.credit(owner.actor, { member: { id: user.id }, amount }),
    ).rejects.toMatchObject({
      code: 'validation',
      field: 'amount',
      message,
    });
  });

  it('refuses unknown and closed members', async () => {
    const { owner, user } = await seedTeam(h.services);
    await expect(
      h.services.ledger.credit(owner.actor, { member: { id: 999_999 }, amount: '1' }),
    ).rejects.toThrow('There is no member #999999 in this team');
    await h.services.members.close(owner.actor, { id: user.id });
    await expect(
      h.services.ledger.credit(owner.actor, { member: { id: user.id }, amount: '1' }),
    ).rejects.toThrow('Uma User is closed, so no money can move to or from it');
  });
});

describe('idempotency keys', () => {
  it('returns the first result for a repeated key and moves the money once', async () => {
    const { owner, user } = await seedTeam(h.services, { masterBalance: '50' });
    const first = await h.services.ledger.credit(owner.actor, {
      member: { id: user.id },
      amount: '5',
      idempotencyKey: 'k-1',
    });
    const again = await h.services.ledger.credit(owner.actor, {
      member: { id: user.id },
      amount: '5',
      idempotencyKey: 'k-1',
    });
    expect(again.transferId).toBe(first.transferId);
    expect(again.replayed).toBe(true);
    expect((await h.services.teams.get(owner.actor)).masterBalance).toBe(45_000_000n);
  });

  it('refuses a repeated key with different parameters', async () => {
    const { owner, user } = await seedTeam(h.services, { masterBalance: '50' });
    await h.services.ledger.credit(owner.actor, {
      member: { id: user.id },
      amount: '5',
      idempotencyKey: 'k-2',
    });
    await expect(
      h.services.ledger.credit(owner.actor, { member: { id: user.id }, amount: '6', idempotencyKey: 'k-2' }),
    ).rejects.toMatchObject({ code: 'conflict' });
    expect((await h.services.teams.get(owner.actor)).masterBalance).toBe(45_000_000n);
  });

  it('applies concurrent requests with one key once', async () => {
    const { owner, user } = await seedTeam(h.services, { masterBalance: '50' });
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        h.services.ledger.credit(owner.actor, {
          member: { id: user.id },
          amount: '1',
          idempotencyKey: 'same',
        }),
      ),
    );
    expect(new Set(results.map((r) => r.transferId)).size).toBe(1);
    expect((await h.services.members.show(owner.actor, { id: user.id })).balance).toBe(1_000_000n);
  });
});

describe('master top-up', () => {
  it('is for the operator only, and a reference is recorded once', async () => {
    const { team, owner } = await seedTeam(h.services, { masterBalance: '0' });
    await expect(
      h.services.ledger.topUp(owner.actor, { teamId: team.id, amount: '5' }),
    ).rejects.toMatchObject({
      code: 'forbidden',
    });
    await h.services.ledger.topUp(operator, { teamId: team.id, amount: '5', reference: 'INV-1' });
    const replay = await h.services.ledger.topUp(operator, {
      teamId: team.id,
      amount: '5',
      reference: 'INV-1',
    });
    expect(replay.replayed).toBe(true);
    expect((await h.services.teams.get(memberActor(owner.id, 'cli'))).masterBalance).toBe(5_000_000n);
  });
});

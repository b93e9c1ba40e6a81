import { expect, it } from 'vitest';
import { operator } from '../../src/shared/actor.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

const h = useServices();

it('a member who becomes owner brings its sub-account balance into the master balance', async () => {
  const { owner, admin } = await seedTeam(h.services, { masterBalance: '100' });
  await h.services.ledger.credit(owner.actor, { member: { id: admin.id }, amount: '30' });
  const request = await h.services.approvals.request(owner.actor, {
    member: { id: admin.id },
    role: 'owner',
  });
  await h.services.approvals.approve(owner.actor, request.id);

  const team = await h.services.teams.get(admin.actor);
  expect(team.masterBalance).toBe(100_000_000n);
  const newOwner = await h.services.members.show(admin.actor, { id: admin.id });
  expect(newOwner).toMatchObject({ role: 'owner', balance: 0n });
  const [joined] = await h.services.ledger.history(admin.actor, { member: { id: admin.id }, limit: 1 });
  expect(joined).toMatchObject({
    kind: 'debit',
    amount: 30_000_000n,
    reason: 'Became the owner: the sub-account balance joins the master balance',
  });
});

it('a member below zero must be credited before it becomes owner; its credit limit returns to the primary account', async () => {
  const { team, owner, admin } = await seedTeam(h.services, { masterBalance: '100' });
  await h.services.ledger.setCreditLimit(operator, { teamId: team.id, creditLimit: '10' });
  await h.services.ledger.transferCreditLimit(owner.actor, {
    member: { id: admin.id },
    direction: 'to_member',
    amount: '4',
  });
  await h.services.ledger.debit(owner.actor, { member: { id: admin.id }, amount: '1.5' });
  const request = await h.services.approvals.request(owner.actor, {
    member: { id: admin.id },
    role: 'owner',
  });
  await expect(h.services.approvals.approve(owner.actor, request.id)).rejects.toMatchObject({
    code: 'conflict',
    message: expect.stringContaining('owes €1.50'),
  });
  expect((await h.services.members.show(owner.actor, { id: admin.id })).role).toBe('admin');

  await h.services.ledger.credit(owner.actor, { member: { id: admin.id }, amount: '1.5' });
  // The refused approval left the request pending: approving it again now hands over.
  await h.services.approvals.approve(owner.actor, request.id);
  expect(await h.services.members.show(admin.actor, { id: admin.id })).toMatchObject({
    role: 'owner',
    balance: 0n,
    creditLimit: 0n,
  });
  expect((await h.services.teams.get(admin.actor)).creditLimit).toBe(10_000_000n);
});

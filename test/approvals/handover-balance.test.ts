import { expect, it } from 'vitest';
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

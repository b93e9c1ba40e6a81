import { expect, it } from 'vitest';
import { seedTeam, useServices } from '../helpers/services.ts';

const h = useServices();

it('names who may decide a request: the owner first, never the requester or the member unless owner', async () => {
  const { owner, admin, user } = await seedTeam(h.services);
  const second = await h.services.members.create(owner.actor, { name: 'Second Admin' });
  const promote = await h.services.approvals.request(owner.actor, {
    member: { id: second.member.id },
    role: 'admin',
  });
  await h.services.approvals.approve(owner.actor, promote.id);

  const asked = await h.services.approvals.request(admin.actor, { member: { id: user.id }, role: 'admin' });
  const names = async (requestId: number) =>
    (await h.services.approvals.approvers(admin.actor, requestId)).map((m) => m.name);
  expect(await names(asked.id)).toEqual(['Olivia Owner', 'Second Admin']);

  const handover = await h.services.approvals.request(admin.actor, {
    member: { id: admin.id },
    role: 'owner',
  });
  expect(await names(handover.id)).toEqual(['Olivia Owner']);

  await expect(h.services.approvals.approvers(user.actor, asked.id)).rejects.toMatchObject({
    code: 'forbidden',
  });
});

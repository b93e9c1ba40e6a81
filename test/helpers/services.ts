import { afterAll, beforeAll } from 'vitest';
import { closeServices, createServices, type Services } from '../../src/app.ts';
import type { Orm } from '../../src/platform/database.ts';
import { memberActor, operator } from '../../src/shared/actor.ts';
import { connectTestOrm, createTestDatabase, type TestDatabase } from './database.ts';

export interface ServiceHarness {
  db: TestDatabase;
  orm: Orm;
  services: Services;
}

/**
 * Services on a database of this test file's own, for the file's lifetime. Use inside a
 * describe block or at the top of a file: `const h = useServices();` then `h.services` in tests.
 */
export function useServices(): ServiceHarness {
  const harness = {} as ServiceHarness;
  beforeAll(async () => {
    harness.db = await createTestDatabase();
    harness.orm = await connectTestOrm(harness.db.url);
    harness.services = createServices(harness.orm);
  });
  afterAll(async () => {
    if (harness.services) await closeServices(harness.services);
    await harness.orm?.close(true);
    await harness.db?.drop();
  });
  return harness;
}

/** The member an API key authenticates, as that member sees itself: the key shown works, and whose it is. */
export async function memberOfKey(services: Services, apiKey: string) {
  const holder = await services.members.authenticateApiKey(apiKey);
  return services.members.show(memberActor(holder.id, 'api'), { id: holder.id });
}

let teamCounter = 0;

/** A team with an owner, an admin and a user, and money on the master balance. */
export async function seedTeam(
  services: Services,
  options: { masterBalance?: string; currency?: string } = {},
) {
  teamCounter += 1;
  const tag = `${process.pid}-${teamCounter}`;
  const {
    team,
    owner,
    apiKey: ownerKey,
  } = await services.teams.setup({
    slackTeamId: `T${tag.replace('-', 'X')}`,
    name: `Team ${tag}`,
    currency: options.currency ?? 'EUR',
    owner: { name: 'Olivia Owner', email: `owner-${tag}@example.com`, slackUserId: `UOWNER${teamCounter}` },
    via: 'slack',
  });
  if (options.masterBalance !== '0') {
    await services.ledger.topUp(operator, { teamId: team.id, amount: options.masterBalance ?? '1000' });
  }
  const ownerActor = memberActor(owner.id, 'api');
  const admin = await services.members.create(ownerActor, {
    name: 'Adam Admin',
    email: `admin-${tag}@example.com`,
  });
  await promote(services, ownerActor, admin.member.id, 'admin');
  const user = await services.members.create(ownerActor, {
    name: 'Uma User',
    email: `user-${tag}@example.com`,
  });
  return {
    team,
    owner: { ...owner, apiKey: ownerKey, actor: ownerActor },
    admin: { ...admin.member, apiKey: admin.apiKey, actor: memberActor(admin.member.id, 'api') },
    user: { ...user.member, apiKey: user.apiKey, actor: memberActor(user.member.id, 'api') },
  };
}

async function promote(
  services: Services,
  ownerActor: ReturnType<typeof memberActor>,
  memberId: number,
  role: string,
) {
  const request = await services.approvals.request(ownerActor, { member: { id: memberId }, role });
  await services.approvals.approve(ownerActor, request.id);
}

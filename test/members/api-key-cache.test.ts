import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServices, createServices, type Services } from '../../src/app.ts';
import type { Orm } from '../../src/platform/database.ts';
import { ForbiddenError, UnauthenticatedError } from '../../src/shared/errors.ts';
import { connectTestOrm } from '../helpers/database.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

/**
 * Two processes on one database: `h` is one, `other` the second, with its own connections and
 * its own key cache. What one commits, the other must honour on its next request.
 */
const h = useServices();
let otherOrm: Orm;
let other: Services;

beforeAll(async () => {
  otherOrm = await connectTestOrm(h.db.url);
  other = createServices(otherOrm);
});
afterAll(async () => {
  await closeServices(other);
  await otherOrm.close(true);
});

const sql = (text: string, params: unknown[] = []) => h.orm.em.getConnection().execute(text, params);

/** Authenticates through the other process twice: the second answer comes from its memory. */
async function cachedInOther(apiKey: string) {
  await other.members.authenticateApiKey(apiKey);
  return other.members.authenticateApiKey(apiKey);
}

/** Runs `change` with the trigger that counts key-holder changes turned off. */
async function uncounted(change: () => Promise<unknown>): Promise<void> {
  await sql('alter table members disable trigger members_key_holder_changed');
  try {
    await change();
  } finally {
    await sql('alter table members enable trigger members_key_holder_changed');
  }
}

describe('API key cache across processes', () => {
  it('serves a key from memory: with the change counter turned off, a suspension goes unseen', async () => {
    // The control for every test below: it shows the other process really answers from memory,
    // so what makes it refuse a key there is the counted change, not a fresh read.
    const { user } = await seedTeam(h.services);
    expect((await cachedInOther(user.apiKey)).id).toBe(user.id);
    await uncounted(() => sql(`update members set status = 'inactive' where id = ?`, [user.id]));
    expect((await other.members.authenticateApiKey(user.apiKey)).status).toBe('active');
  });

  it('a key rotated in one process is refused by the other on its next request, and the new key works there', async () => {
    const { owner, user } = await seedTeam(h.services);
    await cachedInOther(user.apiKey);
    const { apiKey } = await h.services.members.rotateKey(owner.actor, { id: user.id });
    // No waiting, no turn of the event loop: the change is seen with its commit.
    await expect(other.members.authenticateApiKey(user.apiKey)).rejects.toThrow(UnauthenticatedError);
    expect((await other.members.authenticateApiKey(apiKey)).id).toBe(user.id);
  });

  it('a member closed in one process cannot use its key in the other on its next request', async () => {
    const { owner, user } = await seedTeam(h.services);
    await cachedInOther(user.apiKey);
    await h.services.members.close(owner.actor, { id: user.id });
    await expect(other.members.authenticateApiKey(user.apiKey)).rejects.toThrow(UnauthenticatedError);
  });

  it('a new username, and a suspension made by any statement, are seen by the other process on its next request', async () => {
    const { owner, user } = await seedTeam(h.services);
    await cachedInOther(user.apiKey);
    await h.services.members.update(owner.actor, { id: user.id }, { username: 'renamed-user' });
    expect((await other.members.authenticateApiKey(user.apiKey)).username).toBe('renamed-user');
    await sql(`update members set status = 'inactive' where id = ?`, [user.id]);
    await expect(other.members.authenticateApiKey(user.apiKey)).rejects.toThrow(ForbiddenError);
    await sql(`update members set status = 'active' where id = ?`, [user.id]);
    expect((await other.members.authenticateApiKey(user.apiKey)).status).toBe('active');
  });

  it('a charge does not count as a key change: keys stay in memory while members send', async () => {
    const { user } = await seedTeam(h.services);
    await cachedInOther(user.apiKey);
    await uncounted(() => sql(`update members set status = 'inactive' where id = ?`, [user.id]));
    await sql('update members set balance = balance + 1 where id = ?', [user.id]);
    // Still the remembered (now stale) answer: the balance update moved no counter.
    expect((await other.members.authenticateApiKey(user.apiKey)).status).toBe('active');
  });

  it('a request that arrives while a count is being read waits for a read that began after it', async () => {
    const { owner, user } = await seedTeam(h.services);
    await cachedInOther(user.apiKey);
    // Many lookups in flight in the other process, a rotation committed in the middle of them:
    // every lookup that began after the commit refuses the old key.
    const before = Array.from({ length: 20 }, () =>
      other.members.authenticateApiKey(user.apiKey).catch((e) => e),
    );
    await h.services.members.rotateKey(owner.actor, { id: user.id });
    const after = Array.from({ length: 20 }, () =>
      other.members.authenticateApiKey(user.apiKey).catch((e) => e),
    );
    await Promise.all(before);
    for (const outcome of await Promise.all(after)) expect(outcome).toBeInstanceOf(UnauthenticatedError);
  });
});

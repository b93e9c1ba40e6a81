import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServices, createServices, type Services } from '../../src/app.ts';
import { connectOrm } from '../../src/orm.ts';
import type { Orm } from '../../src/platform/database.ts';
import { ForbiddenError, UnauthenticatedError } from '../../src/shared/errors.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

/**
 * Two processes on one database: `h` is one, `other` the second, with its own connections, its
 * own key cache and its own notification connection. What one changes, the other must honour as
 * soon as it hears the change's notification.
 */
const h = useServices();
let otherOrm: Orm;
let other: Services;

beforeAll(async () => {
  otherOrm = await connectOrm(h.db.url);
  other = createServices(otherOrm);
});
afterAll(async () => {
  await closeServices(other);
  await otherOrm.close(true);
});

const sql = (text: string, params: unknown[] = []) => h.orm.em.getConnection().execute(text, params);

/** Waits until `count` processes listen for key changes: the caches trust memory only then. */
async function listeners(count: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const [row] = await sql(
      `select count(*)::int as n from pg_stat_activity
        where datname = current_database() and query = 'listen teamops_key_holders'`,
    );
    if (row!.n >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${count} listeners not seen within 5 s`);
}

/**
 * What the other process answers for this key once it has heard of the change: PostgreSQL
 * sends the notification when the change commits, and the process reads it from its socket on
 * a later turn of its event loop (not synchronously with the commit: docs/security.md). Here
 * both "processes" share one event loop, so the test gives it those turns, and fails if the
 * answer has not changed within a second (the control test shows it never would from memory).
 */
async function answerAfterChange<T>(
  apiKey: string,
  changed: (outcome: {
    holder?: Awaited<ReturnType<Services['members']['authenticateApiKey']>>;
    error?: unknown;
  }) => T | undefined,
): Promise<T> {
  const deadline = performance.now() + 1_000;
  for (;;) {
    const outcome = await other.members.authenticateApiKey(apiKey).then(
      (holder) => ({ holder }),
      (error: unknown) => ({ error }),
    );
    const seen = changed(outcome);
    if (seen !== undefined) return seen;
    if (performance.now() > deadline) throw new Error('the other process still answers as before the change');
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const refusal = (outcome: { error?: unknown }) => outcome.error;

/** Authenticates through the other process until its key cache is listening and holds the key. */
async function cachedInOther(apiKey: string) {
  await other.members.authenticateApiKey(apiKey);
  await listeners(1);
  return other.members.authenticateApiKey(apiKey);
}

describe('API key cache across processes', () => {
  it('serves a key from memory: with the change notification turned off, a suspension goes unseen', async () => {
    // The control for every test below: it shows the other process really answers from memory,
    // so what makes it refuse a key there is the notification, not a fresh read.
    const { user } = await seedTeam(h.services);
    expect((await cachedInOther(user.apiKey)).id).toBe(user.id);
    await sql('alter table members disable trigger members_key_holder_changed');
    try {
      await sql(`update members set status = 'inactive' where id = ?`, [user.id]);
      expect((await other.members.authenticateApiKey(user.apiKey)).status).toBe('active');
    } finally {
      await sql('alter table members enable trigger members_key_holder_changed');
    }
  });

  it('a key rotated in one process is refused by the other at once, and the new key works there', async () => {
    const { owner, user } = await seedTeam(h.services);
    await cachedInOther(user.apiKey);
    const { apiKey } = await h.services.members.rotateKey(owner.actor, { id: user.id });
    expect(await answerAfterChange(user.apiKey, refusal)).toBeInstanceOf(UnauthenticatedError);
    expect((await other.members.authenticateApiKey(apiKey)).id).toBe(user.id);
  });

  it('a member closed in one process cannot use its key in the other at once', async () => {
    const { owner, user } = await seedTeam(h.services);
    await cachedInOther(user.apiKey);
    await h.services.members.close(owner.actor, { id: user.id });
    expect(await answerAfterChange(user.apiKey, refusal)).toBeInstanceOf(UnauthenticatedError);
  });

  it('a new username, and a suspension made by any statement, are seen by the other process at once', async () => {
    const { owner, user } = await seedTeam(h.services);
    await cachedInOther(user.apiKey);
    await h.services.members.update(owner.actor, { id: user.id }, { username: 'renamed-user' });
    const renamed = await answerAfterChange(user.apiKey, ({ holder }) =>
      holder?.username === 'renamed-user' ? holder : undefined,
    );
    expect(renamed.id).toBe(user.id);
    await sql(`update members set status = 'inactive' where id = ?`, [user.id]);
    expect(await answerAfterChange(user.apiKey, refusal)).toBeInstanceOf(ForbiddenError);
  });

  it('a lost notification connection empties the cache: a change missed meanwhile is still seen', async () => {
    const { user } = await seedTeam(h.services);
    await cachedInOther(user.apiKey);
    // A change nobody is told of, as if its notification had been sent while the other process
    // was not listening; then that process loses its connection and listens again.
    await sql('alter table members disable trigger members_key_holder_changed');
    try {
      await sql(`update members set status = 'inactive' where id = ?`, [user.id]);
    } finally {
      await sql('alter table members enable trigger members_key_holder_changed');
    }
    await sql(
      `select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and query = 'listen teamops_key_holders'`,
    );
    expect(await answerAfterChange(user.apiKey, refusal)).toBeInstanceOf(ForbiddenError);
    await listeners(1);
    await expect(other.members.authenticateApiKey(user.apiKey)).rejects.toThrow(ForbiddenError);
  });
});

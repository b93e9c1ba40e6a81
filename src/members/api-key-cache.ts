import type { Logger } from '../logger.ts';
import type { Orm } from '../platform/database.ts';
import { ChannelListener } from '../platform/notifications.ts';
import { poolOf } from '../platform/prepared.ts';
import type { MemberView } from './views.ts';

/**
 * Who an API key belongs to: what the API's edge needs of the caller (its id for the actor, its
 * status and role, the names the compatible APIs check with the key). No balance: it changes
 * with every charge, and the services read it on the locked row.
 */
export type KeyHolder = Pick<
  MemberView,
  'id' | 'teamId' | 'role' | 'status' | 'username' | 'email' | 'keyId'
>;

/**
 * The channel a trigger on `members` notifies, with the member's id, when a column of its
 * KeyHolder changes or the row is deleted (migration 20261202100000): a key rotated, a member
 * suspended, closed, renamed or given another role.
 */
export const KEY_HOLDER_CHANNEL = 'teamops_key_holders';

const MAX_ENTRIES = 10_000;
/** A bound on an entry's life even while listening: a second line of defence, not the mechanism. */
const MAX_AGE_MS = 60_000;

interface Entry {
  holder: KeyHolder;
  storedAt: number;
}

/**
 * API keys already looked up, by the key's hash, so a request does not read the member row (a
 * hot row while the member sends: reading it under a stream of balance updates cost PostgreSQL
 * more than the whole send). Trusted only while this process hears the trigger's notifications:
 * a rotation, suspension or closing committed by any process drops the entry here when its
 * notification arrives, which PostgreSQL sends as the change commits — milliseconds later, not
 * synchronously (docs/security.md) — and while the notification connection is down nothing is
 * served from memory.
 */
export class ApiKeyCache {
  readonly #entries = new Map<string, Entry>();
  readonly #listener: ChannelListener;
  /** Moves on every change heard: a lookup that started before it must not store what it read. */
  #generation = 0;

  constructor(orm: Orm, logger: Logger) {
    this.#listener = new ChannelListener(
      async () => (await poolOf(orm)).options,
      KEY_HOLDER_CHANNEL,
      {
        notified: (memberId) => this.#forget(Number(memberId)),
        // Whatever was learned before a gap in listening may be stale.
        listening: () => this.#forgetAll(),
        lost: () => this.#forgetAll(),
      },
      logger.child({ component: 'api-key-cache' }),
    );
  }

  /** The holder of the key with this hash: from memory when it can be trusted, else from `read`. */
  async holderOf(keyHash: string, read: () => Promise<KeyHolder | null>): Promise<KeyHolder | null> {
    this.#listener.start();
    if (this.#listener.listening) {
      const entry = this.#entries.get(keyHash);
      if (entry && performance.now() - entry.storedAt < MAX_AGE_MS) return entry.holder;
      this.#entries.delete(keyHash);
    }
    const generation = this.#generation;
    const holder = await read();
    if (holder && this.#listener.listening && generation === this.#generation) {
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
      this.#entries.set(keyHash, { holder, storedAt: performance.now() });
    }
    return holder;
  }

  close(): Promise<void> {
    this.#forgetAll();
    return this.#listener.close();
  }

  #forget(memberId: number): void {
    this.#generation += 1;
    for (const [hash, entry] of this.#entries) if (entry.holder.id === memberId) this.#entries.delete(hash);
  }

  #forgetAll(): void {
    this.#generation += 1;
    this.#entries.clear();
  }
}

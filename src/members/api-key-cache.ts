import type { Orm } from '../platform/database.ts';
import { type PreparedStatement, runPrepared } from '../platform/prepared.ts';
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

/** The count of key-holder changes committed so far (key-holder-changes.entity.ts). */
const KEY_HOLDER_VERSION: PreparedStatement = {
  name: 'key-holder-changes.version',
  text: 'select coalesce((select version from key_holder_changes where id = 1), 0)::text as version',
};

const MAX_ENTRIES = 10_000;

/**
 * API keys already looked up, by the key's hash, so a request does not read the member row (a
 * hot row while the member sends: reading it under a stream of balance updates cost PostgreSQL
 * more than the whole send).
 *
 * Exact, not eventually right: every lookup first reads the count of key-holder changes, in a
 * read started after the lookup began, and empties the memory when the count moved. A rotation,
 * suspension or closing committed by any process before a request arrives is therefore seen by
 * that request. The count's row changes only with keys, never with balances, and concurrent
 * lookups share one read: under load that is one small query for a whole group of requests.
 */
export class ApiKeyCache {
  readonly #orm: Orm;
  readonly #entries = new Map<string, KeyHolder>();
  /** The count of changes the entries were read under. */
  #version = -1n;
  /** The count's read on the wire; a lookup that began after it was sent must wait for the next. */
  #reading: Promise<bigint> | null = null;
  #nextRead: Promise<bigint> | null = null;

  constructor(orm: Orm) {
    this.#orm = orm;
  }

  /** The holder of the key with this hash: from memory when nothing changed since, else from `read`. */
  async holderOf(keyHash: string, read: () => Promise<KeyHolder | null>): Promise<KeyHolder | null> {
    const version = await this.#currentVersion();
    if (version > this.#version) {
      this.#entries.clear();
      this.#version = version;
    }
    // A read that started earlier may answer after a later one: it neither serves nor stores.
    const current = version === this.#version;
    if (current) {
      const holder = this.#entries.get(keyHash);
      if (holder) return holder;
    }
    const holder = await read();
    if (holder && current && version === this.#version) {
      if (this.#entries.size >= MAX_ENTRIES) this.#entries.delete(this.#entries.keys().next().value!);
      this.#entries.set(keyHash, holder);
    }
    return holder;
  }

  #currentVersion(): Promise<bigint> {
    if (!this.#reading) return this.#startRead();
    this.#nextRead ??= this.#reading
      .catch(() => undefined)
      .then(() => {
        this.#nextRead = null;
        return this.#startRead();
      });
    return this.#nextRead;
  }

  #startRead(): Promise<bigint> {
    const reading = runPrepared<{ version: string }>(this.#orm, KEY_HOLDER_VERSION, []).then(([row]) =>
      BigInt(row!.version),
    );
    this.#reading = reading;
    const done = () => {
      if (this.#reading === reading) this.#reading = null;
    };
    reading.then(done, done);
    return reading;
  }
}

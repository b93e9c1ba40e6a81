import { DeadlockException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

/** Attempts at most for one transaction that PostgreSQL keeps choosing as a deadlock victim. */
const ATTEMPTS = 6;

/**
 * Runs `work` in a transaction, and runs it again when PostgreSQL rolled it back to break a
 * deadlock (40P01) or a serialization failure (40001). The lock order of docs/ledger.md makes a
 * deadlock between our own paths impossible; this is the net for what it does not cover (a
 * statement added later, an operator's ad-hoc session). A rolled-back attempt changed nothing,
 * and `work` runs whole again with the same inputs and idempotency keys, so the caller sees one
 * answer — never the deadlock.
 */
export function transact<T>(em: EntityManager, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  return retryingDeadlocks(() => em.transactional(work));
}

/**
 * The same net for a transaction that is one statement (see platform/prepared.ts): `attempt`
 * must be whole, so running it again is running the transaction again.
 */
export async function retryingDeadlocks<T>(attempt: () => Promise<T>): Promise<T> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (n >= ATTEMPTS || !isDeadlock(error)) throw error;
      // Apart, so the two victims do not meet again on the same rows at the same moment.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * n));
    }
  }
}

/** PostgreSQL broke a deadlock or a serialization conflict by rolling this transaction back. */
export function isDeadlock(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return error instanceof DeadlockException || code === '40P01' || code === '40001';
}

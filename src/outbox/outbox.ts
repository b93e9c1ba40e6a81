import type { EntityManager } from '@mikro-orm/postgresql';
import { run } from '../platform/sql.ts';

export interface EnqueueOptions {
  /** Jobs sharing a key are one job: the relay uses it as the queue's job id. */
  dedupKey?: string;
  /** Do not run before this many milliseconds from now. */
  delayMs?: number;
}

/**
 * Asks for a background job, inside the caller's transaction: the row commits with the change
 * that caused it or not at all, and the relay hands it to the queue afterwards.
 */
export async function enqueueJob(
  em: EntityManager,
  job: string,
  payload: Record<string, unknown>,
  options: EnqueueOptions = {},
): Promise<void> {
  await run(
    em,
    `insert into outbox (job, payload, dedup_key, available_at, created_at)
     values (?, ?::jsonb, ?, now() + (? * interval '1 millisecond'), now())`,
    [job, JSON.stringify(payload), options.dedupKey ?? null, options.delayMs ?? 0],
  );
}

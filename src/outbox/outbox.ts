import type { EntityManager } from '@mikro-orm/postgresql';
import { currentRequest, REQUEST_ID_FIELD } from '../platform/request-context.ts';
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
    [job, JSON.stringify(withRequestId(payload)), options.dedupKey ?? null, options.delayMs ?? 0],
  );
}

/** The job takes the id of the request that caused it along, for the log lines it writes. */
function withRequestId(payload: Record<string, unknown>): Record<string, unknown> {
  const request = currentRequest();
  return request ? { ...payload, [REQUEST_ID_FIELD]: request.requestId } : payload;
}

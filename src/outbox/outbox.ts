import type { EntityManager } from '@mikro-orm/postgresql';
import type { JobName, JobPayload } from '../jobs/jobs.ts';
import { currentRequest, REQUEST_ID_FIELD } from '../platform/request-context.ts';
import { run } from '../platform/sql.ts';

export interface EnqueueOptions {
  /** Jobs sharing a key are one job: the relay uses it as the queue's job id. */
  dedupKey?: string;
  /** Do not run before this many milliseconds from now. */
  delayMs?: number;
}

const OUTBOX_COLUMNS = 'outbox (job, payload, dedup_key, available_at, created_at)';

/**
 * Asks for a background job, inside the caller's transaction: the row commits with the change
 * that caused it or not at all, and the relay hands it to the queue afterwards.
 */
export async function enqueueJob<J extends JobName>(
  em: EntityManager,
  job: J,
  payload: JobPayload<J>,
  options: EnqueueOptions = {},
): Promise<void> {
  await run(
    em,
    `insert into ${OUTBOX_COLUMNS}
     values (?, ?::jsonb, ?, now() + (? * interval '1 millisecond'), now())`,
    [job, JSON.stringify(withRequestId(payload)), options.dedupKey ?? null, options.delayMs ?? 0],
  );
}

/**
 * The same outbox rows as a statement of a larger query, for a write that makes many rows and
 * their jobs in one statement (the ledger's batch posting). `payload` and `dedupKey` are SQL
 * expressions over `from`; the job name is the statement's one parameter.
 */
export function enqueueJobsFrom<J extends JobName>(
  job: J,
  select: {
    payload: string;
    dedupKey: string;
    from: string;
    /** The job name written into the SQL (a prepared statement's constant) instead of a parameter. */
    jobLiteral?: boolean;
  },
): { sql: string; params: [J] | [] } {
  // Job names are our own identifiers ([a-z._]), never input, so they are safe as a literal.
  const name = select.jobLiteral ? `'${job}'` : '?';
  return {
    sql: `insert into ${OUTBOX_COLUMNS}
       select ${name}, ${select.payload}, ${select.dedupKey}, now(), now()
         from ${select.from}`,
    params: select.jobLiteral ? [] : [job],
  };
}

/** The job takes the id of the request that caused it along, for the log lines it writes. */
export function withRequestId(payload: Record<string, unknown>): Record<string, unknown> {
  const request = currentRequest();
  return request ? { ...payload, [REQUEST_ID_FIELD]: request.requestId } : payload;
}

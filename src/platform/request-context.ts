import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * What the log knows about the work in progress: the id of the HTTP request being served or of
 * the request whose job is running, and who asked. Every log line written meanwhile carries the
 * id (see the logger's mixin), and jobs enqueued meanwhile take it along (see enqueueJob), so an
 * operator can follow one request into the jobs it caused.
 */
export interface RequestContext {
  requestId: string;
  /** The member whose API key authenticated the request. */
  memberId?: number;
  /** The Slack workspace a Slack request came from. */
  slackTeam?: string;
  /** `queue:id` of the job being run, when this is a job. */
  jobId?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runInRequestContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

// Ids from outside (a proxy's X-Request-Id) are kept when they are plain enough to log safely.
const ACCEPTABLE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdFrom(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value && ACCEPTABLE_ID.test(value) ? value : randomUUID();
}

/** The key under which an outbox payload carries the id of the request that caused the job. */
export const REQUEST_ID_FIELD = '_requestId';

/** The request id a job's payload carries, if any. */
export function requestIdOfPayload(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const value = (payload as Record<string, unknown>)[REQUEST_ID_FIELD];
  return typeof value === 'string' && ACCEPTABLE_ID.test(value) ? value : undefined;
}

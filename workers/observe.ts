import { RateLimitError, UnrecoverableError } from 'bullmq';
import * as metrics from '../src/platform/metrics.ts';
import { PostponedError, type QueueJob } from '../src/platform/queue.ts';
import { requestIdOfPayload, runInRequestContext } from '../src/platform/request-context.ts';

/**
 * Runs one job with what an operator needs to see it: its log lines carry the id of the request
 * that caused it (or the job's own, for scheduled work), and its outcome and duration are
 * counted by queue.
 */
export async function observeJob<T>(queue: string, job: QueueJob, run: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const requestId = requestIdOfPayload(job.data) ?? `job:${queue}:${job.id}`;
  let outcome = 'completed';
  try {
    return await runInRequestContext({ requestId, jobId: `${queue}:${job.id}` }, run);
  } catch (error) {
    outcome = outcomeOf(error, job);
    throw error;
  } finally {
    const seconds = (performance.now() - started) / 1000;
    metrics.jobs.inc({ queue, outcome });
    metrics.jobDuration.observe({ queue, outcome }, seconds);
  }
}

function outcomeOf(error: unknown, job: QueueJob): string {
  // A queue-wide hold, or one Slack workspace's (the job waits for its slot, no attempt used).
  if (error instanceof RateLimitError || error instanceof PostponedError) return 'rate_limited';
  if (error instanceof UnrecoverableError) return 'failed';
  return job.attemptsMade + 1 >= job.maxAttempts ? 'failed' : 'retried';
}

import type { Services } from '../src/app.ts';
import type { JobPayload } from '../src/jobs/jobs.ts';
import type { QueueJob } from '../src/platform/queue.ts';

/**
 * Thin handlers: the messaging service does the work. Both are safe to run twice (a message is
 * handed over only while queued, and outcomes are recorded only while it is not final).
 */
export function dispatchMessages(services: Services, payload: JobPayload<'message.dispatch'>, job: QueueJob) {
  // On the last attempt, messages the provider still cannot take fail and are refunded.
  return services.messaging.dispatch(payload.messageIds, {
    lastAttempt: job.attemptsMade + 1 >= job.maxAttempts,
  });
}

export function checkMessageStatus(services: Services, payload: JobPayload<'message.check_status'>) {
  return services.messaging.checkStatus(payload.messageIds, payload.attempt);
}

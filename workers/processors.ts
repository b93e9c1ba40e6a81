import type { AppDeps } from '../src/app.ts';
import type { JobName, JobPayload } from '../src/jobs/jobs.ts';
import { type Mailer, sendEmailJob } from '../src/mail/mailer.ts';
import type { QueueJob, Queues } from '../src/platform/queue.ts';
import { uploadChartOnce } from '../src/slack/outbound/chart-upload.ts';
import { postCreditRequest } from '../src/slack/outbound/credit-request-post.ts';
import { sendInvitationDm } from '../src/slack/outbound/invitation-dm.ts';
import { postOnce, type SlackPoster } from '../src/slack/outbound/slack-poster.ts';
import { sendStatementDm } from '../src/slack/outbound/statement-dm.ts';

export interface WorkerDeps extends AppDeps {
  queues: Queues;
  mailer: Mailer;
  slack: SlackPoster;
}

/** Every processor has this shape: what the worker has, the job's checked payload, the queue's job. */
export type Processor<J extends JobName> = (
  deps: WorkerDeps,
  payload: JobPayload<J>,
  job: QueueJob,
) => Promise<unknown>;

/**
 * One processor per job of the table (the type checker refuses a missing one). Each names one
 * call; the logic lives with its feature, and every call is safe to run twice.
 */
export const processors: { [J in JobName]: Processor<J> } = {
  'invitation.send': (deps, payload, job) => deps.services.invitations.deliver(payload, job, deps),
  'invitation.slack_dm': (deps, payload) => sendInvitationDm(deps, payload),
  'email.send': (deps, payload) => sendEmailJob(deps.mailer, payload),
  'member.balance_low': (deps, payload, job) =>
    deps.services.autoRecharge.handleBalanceLow(payload, job.id, deps.logger),
  'slack.post': (deps, payload, job) => postOnce(deps.orm, deps.slack, payload, job.id),
  'credit_request.post': (deps, payload) =>
    postCreditRequest(deps.services.creditRequests, deps.slack, payload),
  'credit_request.expire': (deps, payload) => deps.services.creditRequests.expire(payload.requestId),
  'statement.export': (deps, payload, job) => sendStatementDm(deps, payload, job.id),
  'digest.schedule': (deps, payload) => deps.services.digests.syncSchedule(payload, deps.queues),
  'digest.send': (deps, payload, job) => deps.services.digests.send(payload, job, deps.queues),
  'stats.chart': (deps, payload, job) => uploadChartOnce(deps, payload, job.id),
  // A message is handed over only while queued; on the last attempt, messages the provider still
  // cannot take fail and are refunded.
  'message.dispatch': (deps, payload, job) =>
    deps.services.messaging.dispatch(payload.messageIds, {
      lastAttempt: job.attemptsMade + 1 >= job.maxAttempts,
    }),
  // Outcomes are recorded only while a message is not final.
  'message.check_status': (deps, payload) =>
    deps.services.messaging.checkStatus(payload.messageIds, payload.attempt),
};

import { handleBalanceLow } from '../src/alerts/balance-alerts.ts';
import type { AppDeps } from '../src/app.ts';
import { sendDigest, syncDigestSchedule } from '../src/digests/digest-jobs.ts';
import { deliverInvitation } from '../src/invitations/invitation-email.ts';
import type { JobName, JobPayload } from '../src/jobs/jobs.ts';
import { isPermanentMailError, type Mailer } from '../src/mail/mailer.ts';
import { permanentFailure, type QueueJob, type Queues } from '../src/platform/queue.ts';
import { sendInvitationDm } from '../src/slack/outbound/invitation-dm.ts';
import { postOnce, type SlackPoster } from '../src/slack/outbound/slack-poster.ts';
import { checkMessageStatus, dispatchMessages } from './messaging.ts';

export interface WorkerDeps extends AppDeps {
  queues: Queues;
  mailer: Mailer;
  slack: SlackPoster;
}

type Processors = {
  [J in JobName]: (payload: JobPayload<J>, job: QueueJob) => Promise<unknown>;
};

/** Each job names one call; the logic lives with its feature. */
export function createProcessors(deps: WorkerDeps): Processors {
  const { orm, queues, logger } = deps;
  return {
    'invitation.send': (payload, job) => deliverInvitation(deps, payload, job),
    'invitation.slack_dm': (payload) => sendInvitationDm(deps, payload),
    'email.send': async (payload) => {
      try {
        return await deps.mailer.send(payload);
      } catch (error) {
        if (isPermanentMailError(error))
          throw permanentFailure(`email to ${payload.to} refused: ${String(error)}`);
        throw error;
      }
    },
    'member.balance_low': (payload, job) => handleBalanceLow(orm, logger, payload, job.id),
    'slack.post': (payload, job) => postOnce(orm, deps.slack, payload, job.id),
    'digest.schedule': (payload) => syncDigestSchedule(orm, queues, payload),
    'digest.send': (payload, job) => sendDigest(orm, queues, payload, job),
    'message.dispatch': (payload, job) => dispatchMessages(deps.services, payload, job),
    'message.check_status': (payload) => checkMessageStatus(deps.services, payload),
  };
}

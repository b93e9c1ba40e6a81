import type { Services } from '../../app.ts';
import { requireToken } from '../../invitations/invitation-email.ts';
import type { JobPayload } from '../../jobs/jobs.ts';
import { invitationDmMessage } from '../presenters/invitation-dm.ts';
import type { SlackPoster } from './slack-poster.ts';

export interface InvitationDmDeps {
  services: Pick<Services, 'invitations'>;
  slack: SlackPoster;
}

/** The `invitation.slack_dm` job: the DM with Accept and Decline, sent once. */
export async function sendInvitationDm(
  deps: InvitationDmDeps,
  payload: JobPayload<'invitation.slack_dm'>,
): Promise<'sent' | 'skipped'> {
  const invitations = deps.services.invitations;
  const details = await invitations.deliveryDetails(payload.invitationId, payload.nonce);
  if (
    !details?.slackUserId ||
    details.status !== 'pending' ||
    details.deliveryStatus === 'sent' ||
    details.superseded
  )
    return 'skipped';
  const token = await requireToken(invitations, details);
  try {
    // Posted from this job, not through `slack.post`: a queued post would keep the token in Redis.
    const outcome = await deps.slack.post(details.teamId, invitationDmMessage(details, token));
    if (!outcome.posted) {
      await invitations.recordDelivery(details.id, {
        error: `Slack DM not sent: ${outcome.reason}`,
        permanent: true,
        nonce: payload.nonce,
      });
      return 'skipped';
    }
  } catch (error) {
    if ((error as Error).name === 'UnrecoverableError') {
      await invitations.recordDelivery(details.id, {
        error: (error as Error).message,
        permanent: true,
        nonce: payload.nonce,
      });
    }
    throw error;
  }
  await invitations.recordDelivery(details.id, { sent: true, nonce: payload.nonce });
  return 'sent';
}

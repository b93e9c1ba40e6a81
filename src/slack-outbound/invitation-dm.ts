import type { KnownBlock } from '@slack/types';
import type { Services } from '../app.ts';
import type { InvitationView } from '../invitations/invitation.service.ts';
import { formatExpiry } from '../invitations/invitation-email.ts';
import type { JobPayload, SlackMessage } from '../jobs/jobs.ts';
import type { Logger } from '../logger.ts';
import { isDomainError } from '../shared/errors.ts';
import { actions, button, context, escapeText, section } from '../slack/presenters/blocks.ts';
import type { SlackPoster } from './slack-outbound.ts';

/**
 * An invitation by Slack mention arrives as a DM with Accept and Decline buttons. The buttons
 * carry the invitation token (the DM is visible to the invited person only), so clicking one
 * is the same as using the emailed link.
 *
 * The Slack listeners register INVITATION_DM_ACTIONS.accept / .decline and answer with
 * `answerInvitationDm` (see its comment).
 */
export const INVITATION_DM_ACTIONS = {
  accept: 'invitation_dm_accept',
  decline: 'invitation_dm_decline',
} as const;

const ROLE_LABEL = { admin: 'an admin', user: 'a user' } as const;

export function invitationDmMessage(invitation: InvitationView, token: string): SlackMessage {
  const inviter = invitation.invitedByName ?? 'An administrator';
  const text = `${inviter} invites you to join ${invitation.teamName} on teamops as ${ROLE_LABEL[invitation.role]}.`;
  const blocks: KnownBlock[] = [
    section(
      `*${escapeText(inviter)}* invites you to join *${escapeText(invitation.teamName)}* on teamops as ${ROLE_LABEL[invitation.role]}.`,
    ),
    actions('invitation_dm', [
      button('Accept', INVITATION_DM_ACTIONS.accept, token, 'primary'),
      button('Decline', INVITATION_DM_ACTIONS.decline, token),
    ]),
    context(`The invitation expires on ${formatExpiry(invitation.expiresAt)}.`),
  ];
  return { channel: invitation.slackUserId ?? '', text, blocks };
}

export interface InvitationDmDeps {
  services: Pick<Services, 'invitations'>;
  slack: SlackPoster;
  logger: Logger;
}

/** The `invitation.slack_dm` job. */
export async function sendInvitationDm(
  deps: InvitationDmDeps,
  payload: JobPayload<'invitation.slack_dm'>,
): Promise<'sent' | 'skipped'> {
  const invitations = deps.services.invitations;
  const details = await invitations.deliveryDetails(payload.invitationId);
  if (!details?.slackUserId || details.status !== 'pending' || details.deliveryStatus === 'sent')
    return 'skipped';
  try {
    const outcome = await deps.slack.post(details.teamId, invitationDmMessage(details, payload.token));
    if (!outcome.posted) {
      await invitations.recordDelivery(details.id, {
        error: `Slack DM not sent: ${outcome.reason}`,
        permanent: true,
      });
      return 'skipped';
    }
  } catch (error) {
    if ((error as Error).name === 'UnrecoverableError') {
      await invitations.recordDelivery(details.id, { error: (error as Error).message, permanent: true });
    }
    throw error;
  }
  await invitations.recordDelivery(details.id, { sent: true });
  return 'sent';
}

export interface InvitationDmAnswer {
  /** Replaces the DM with the buttons (respond with replace_original). */
  replace: { text: string; blocks: KnownBlock[] };
  /** The new API key, for the clicking person only (respond with response_type ephemeral). */
  shownOnce?: { text: string; blocks: KnownBlock[] };
}

/**
 * What a click on Accept or Decline does. `displayName` is the clicking Slack user's name.
 * Listener: `await ack(); const answer = await answerInvitationDm(services, {action, token:
 * action.value, displayName}); await respond({replace_original: true, ...answer.replace});
 * if (answer.shownOnce) await respond({response_type: 'ephemeral', replace_original: false, ...answer.shownOnce});`
 */
export async function answerInvitationDm(
  services: Pick<Services, 'invitations'>,
  input: { action: 'accept' | 'decline'; token: string; displayName: string },
): Promise<InvitationDmAnswer> {
  try {
    if (input.action === 'decline') {
      const declined = await services.invitations.decline(input.token);
      const text = `You declined the invitation to ${declined.teamName}.`;
      return { replace: { text, blocks: [section(escapeText(text))] } };
    }
    const accepted = await services.invitations.accept(input.token, { name: input.displayName });
    const team = accepted.invitation.teamName;
    const text = `You joined ${team} as ${accepted.member.name}.`;
    return {
      replace: {
        text,
        blocks: [
          section(
            `:white_check_mark: You joined *${escapeText(team)}* as ${escapeText(accepted.member.name)}.`,
          ),
        ],
      },
      shownOnce: {
        text: `Your teamops API key, shown once: ${accepted.apiKey}`,
        blocks: [
          section('Your teamops API key is shown *this once*: copy it now.'),
          section(`\`\`\`${accepted.apiKey}\`\`\``),
          context('teamops keeps only a hash of the key. If it is lost, an admin can issue a new one.'),
        ],
      },
    };
  } catch (error) {
    if (!isDomainError(error)) throw error;
    // Used, revoked or expired: the buttons go away and nothing else changes.
    return { replace: { text: error.message, blocks: [section(escapeText(error.message))] } };
  }
}

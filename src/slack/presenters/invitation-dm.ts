import type { KnownBlock } from '@slack/types';
import type { InvitationView } from '../../invitations/invitation.service.ts';
import { formatExpiry } from '../../invitations/invitation-email.ts';
import type { SlackMessage } from '../../jobs/jobs.ts';
import { actions, button, context, escapeText, section } from './blocks.ts';

/**
 * An invitation by Slack mention arrives as a DM with Accept and Decline buttons. The buttons
 * carry the invitation token (the DM is visible to the invited person only), so clicking one
 * is the same as using the emailed link.
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

export interface InvitationDmAnswer {
  /** Replaces the DM with the buttons (respond with replace_original). */
  replace: { text: string; blocks: KnownBlock[] };
  /** The new API key, for the clicking person only (respond with response_type ephemeral). */
  shownOnce?: { text: string; blocks: KnownBlock[] };
}

/** Replaces the buttons once the invitation is used, revoked or expired: a plain sentence. */
export function invitationDmNotice(text: string): InvitationDmAnswer {
  return { replace: { text, blocks: [section(escapeText(text))] } };
}

export function invitationDmDeclined(teamName: string): InvitationDmAnswer {
  return invitationDmNotice(`You declined the invitation to ${teamName}.`);
}

export function invitationDmAccepted(
  teamName: string,
  memberName: string,
  apiKey: string,
): InvitationDmAnswer {
  return {
    replace: {
      text: `You joined ${teamName} as ${memberName}.`,
      blocks: [
        section(`:white_check_mark: You joined *${escapeText(teamName)}* as ${escapeText(memberName)}.`),
      ],
    },
    shownOnce: {
      text: `Your teamops API key, shown once: ${apiKey}`,
      blocks: [
        section('Your teamops API key is shown *this once*: copy it now.'),
        section(`\`\`\`${apiKey}\`\`\``),
        context('teamops keeps only a hash of the key. If it is lost, an admin can issue a new one.'),
      ],
    },
  };
}

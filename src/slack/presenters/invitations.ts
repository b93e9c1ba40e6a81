import type { InvitationView } from '../../invitations/invitation.service.ts';
import { type Blocks, context, escapeText, header, MAX_MESSAGE_BLOCKS, section } from './blocks.ts';

function invitee(invitation: InvitationView): string {
  return invitation.email ? escapeText(invitation.email) : `<@${invitation.slackUserId}>`;
}

/** "retrying (attempt 2 of 10): 421 …", "failed after 3 attempts: 550 …", "sent", "queued". */
function deliveryText(invitation: InvitationView): string {
  const reason = invitation.deliveryError ? `: ${escapeText(invitation.deliveryError)}` : '';
  const attempts = invitation.deliveryAttempts;
  if (invitation.deliveryStatus === 'failed') {
    const after = attempts > 0 ? ` after ${attempts} attempt${attempts === 1 ? '' : 's'}` : '';
    return `:warning: failed${after}${reason}`;
  }
  if (invitation.deliveryRetrying) {
    const which =
      attempts > 0 && invitation.deliveryMaxAttempts
        ? ` (attempt ${attempts} of ${invitation.deliveryMaxAttempts})`
        : '';
    return `:hourglass_flowing_sand: retrying${which}${reason}`;
  }
  return invitation.deliveryStatus;
}

export function invitationLine(invitation: InvitationView): string {
  return (
    `*#${invitation.id}* ${invitee(invitation)} as *${invitation.role}* · ${invitation.status} · ${deliveryText(invitation)}\n` +
    `expires ${invitation.expiresAt.toISOString().slice(0, 10)}` +
    (invitation.invitedByName ? ` · invited by ${escapeText(invitation.invitedByName)}` : '')
  );
}

/** `/team invitations`: pending invitations, newest first, within one message. */
export function invitationListBlocks(invitations: InvitationView[]): Blocks {
  if (invitations.length === 0) return [section('No pending invitations.')];
  const room = MAX_MESSAGE_BLOCKS - 3;
  const shown = invitations.slice(0, room);
  return [
    header('Pending invitations'),
    ...shown.map((invitation) => section(invitationLine(invitation))),
    context(
      invitations.length > shown.length
        ? `${shown.length} of ${invitations.length} shown. Withdraw one with \`/team revoke <id | email>\`.`
        : 'Withdraw one with `/team revoke <id | email>`.',
    ),
  ];
}

export function invitedText(invitation: InvitationView): string {
  const how = invitation.email
    ? 'An email with a link to join is on its way'
    : 'They will get a direct message';
  return `Invited ${invitee(invitation)} as *${invitation.role}* (invitation #${invitation.id}). ${how}; the link expires ${invitation.expiresAt.toISOString().slice(0, 10)}.`;
}

export function revokedText(invitation: InvitationView): string {
  return `Invitation #${invitation.id} for ${invitee(invitation)} is revoked; its link no longer works.`;
}

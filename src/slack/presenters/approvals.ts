import type { RoleChangeView } from '../../approvals/approval.service.ts';
import { ACTIONS } from '../ids.ts';
import { actions, type Blocks, button, context, escapeText, section } from './blocks.ts';

/** A person in a message: their mention when linked to Slack, else their name in bold. */
export function who(name: string, slackUserId: string | null): string {
  return slackUserId ? `<@${slackUserId}>` : `*${escapeText(name)}*`;
}

function change(request: RoleChangeView): string {
  return `${who(request.memberName, request.memberSlackUserId)} (#${request.memberId}) from *${request.fromRole}* to *${request.toRole}*`;
}

export function approvalText(request: RoleChangeView): string {
  if (request.status === 'pending')
    return `Role change request #${request.id}: ${request.memberName} from ${request.fromRole} to ${request.toRole}`;
  return `Role change request #${request.id} was ${request.status} by ${request.decidedByName ?? 'someone'}`;
}

/**
 * The request with Approve / Deny while it is pending; once decided, the same message shows the
 * outcome and no buttons, so it can be updated in place and a late click has nothing to press.
 */
export function approvalBlocks(request: RoleChangeView, approverSlackUserIds: string[] = []): Blocks {
  const asked = `${who(request.requestedByName, request.requestedBySlackUserId)} asks to change the role of ${change(request)}.`;
  if (request.status === 'pending') {
    const mention = approverSlackUserIds.length
      ? `${approverSlackUserIds.map((id) => `<@${id}>`).join(' ')}: `
      : '';
    const ownership = request.toRole === 'owner' || request.fromRole === 'owner';
    return [
      section(`:raised_hand: ${mention}${asked}`),
      actions(`role_request_${request.id}`, [
        button('Approve', ACTIONS.approveRole, String(request.id), 'primary'),
        button('Deny', ACTIONS.denyRole, String(request.id), 'danger'),
      ]),
      context(
        `Request #${request.id} · ${ownership ? 'only the owner can decide a change of ownership' : 'the owner or an admin decides'}`,
      ),
    ];
  }
  const icon = request.status === 'approved' ? ':white_check_mark:' : ':no_entry_sign:';
  const decidedBy = request.decidedByName ? escapeText(request.decidedByName) : 'someone';
  const when = request.decidedAt ? ` on ${utcMinute(request.decidedAt)}` : '';
  return [
    section(`${icon} ${asked}`),
    context(`Request #${request.id} *${request.status}* by ${decidedBy}${when}`),
  ];
}

/** What the requester and the member are told once it is decided. */
export function decisionNotice(request: RoleChangeView, audience: 'requester' | 'member'): string {
  const decidedBy = request.decidedByName ?? 'an admin';
  if (audience === 'member') {
    return request.status === 'approved'
      ? `You are now ${article(request.toRole)} *${request.toRole}* of the team (approved by ${escapeText(decidedBy)}).`
      : `The request to make you ${article(request.toRole)} ${request.toRole} was denied by ${escapeText(decidedBy)}.`;
  }
  return `Your request #${request.id} to make ${escapeText(request.memberName)} ${article(request.toRole)} ${request.toRole} was *${request.status}* by ${escapeText(decidedBy)}.`;
}

/** "2026-12-02 14:05 UTC": when a decision was made, the same for everyone who reads it. */
export function utcMinute(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function article(role: string): string {
  return role === 'owner' || role === 'admin' ? 'an' : 'a';
}

import type { CreditRequestView } from '../../credit-requests/credit-request.service.ts';
import { formatMoney } from '../../shared/money.ts';
import { ACTIONS } from '../ids.ts';
import { utcMinute, who } from './approvals.ts';
import { actions, type Blocks, button, context, escapeText, section } from './blocks.ts';

const OUTCOME_ICON = { approved: ':white_check_mark:', denied: ':no_entry_sign:', expired: ':hourglass:' };

function amountOf(request: CreditRequestView): string {
  return formatMoney(request.amount, request.currency);
}

function asked(request: CreditRequestView): string {
  const reason = request.reason ? `\n>${escapeText(request.reason).replace(/\n/g, '\n>')}` : '';
  return `${who(request.memberName, request.memberSlackUserId)} (#${request.memberId}) asks for *${amountOf(request)}* of credit.${reason}`;
}

function outcomeLine(request: CreditRequestView): string {
  if (request.status === 'expired') return `expired on ${utcMinute(request.expiresAt)}, undecided`;
  const by = request.decidedByName ? escapeText(request.decidedByName) : 'someone';
  const when = request.decidedAt ? ` on ${utcMinute(request.decidedAt)}` : '';
  return `*${request.status}* by ${by}${when}`;
}

/**
 * The request with Approve / Deny while it is open; once decided or expired, the same message
 * shows the outcome and who decided, without buttons, so each copy is updated in place and a
 * late click has nothing to press.
 */
export function creditRequestMessage(request: CreditRequestView): { text: string; blocks: Blocks } {
  if (request.status === 'open') {
    return {
      text: `Credit request #${request.id}: ${request.memberName} asks for ${amountOf(request)}`,
      blocks: [
        section(`:moneybag: ${asked(request)}`),
        actions(`credit_request_${request.id}`, [
          button('Approve', ACTIONS.approveCredit, String(request.id), 'primary'),
          button('Deny', ACTIONS.denyCredit, String(request.id), 'danger'),
        ]),
        context(
          `Credit request #${request.id} · the owner or an admin decides · approving credits the member from the master balance · expires ${utcMinute(request.expiresAt)}`,
        ),
      ],
    };
  }
  const outcome = outcomeLine(request);
  return {
    text: `Credit request #${request.id} (${amountOf(request)} for ${request.memberName}) ${outcome.replace(/\*/g, '')}`,
    blocks: [
      section(`${OUTCOME_ICON[request.status]} ${asked(request)}`),
      context(`Credit request #${request.id} ${outcome}`),
    ],
  };
}

/** What the requester is told by direct message once the request is decided or expired. */
/** To a decider whose click found the request already decided (a second click, another admin). */
export function creditRequestAlreadyDecided(request: CreditRequestView): string {
  const by = request.decidedByName ? ` by ${request.decidedByName}` : '';
  return `Credit request #${request.id} was already ${request.status}${by}; nothing changed.`;
}

export function creditRequestOutcome(request: CreditRequestView): string {
  const amount = amountOf(request);
  if (request.status === 'approved') {
    return `:white_check_mark: Your credit request #${request.id} for *${amount}* was approved by ${escapeText(request.decidedByName ?? 'an admin')}: the amount is on your balance.`;
  }
  if (request.status === 'denied') {
    return `:no_entry_sign: Your credit request #${request.id} for *${amount}* was denied by ${escapeText(request.decidedByName ?? 'an admin')}.`;
  }
  return `:hourglass: Your credit request #${request.id} for *${amount}* expired after seven days without a decision. Ask again with \`/team request\` if you still need it.`;
}

/** `/team requests`: one line per request, newest first. */
export function creditRequestListBlocks(requests: CreditRequestView[], everyone: boolean): Blocks {
  if (requests.length === 0) {
    return [section(everyone ? 'No open credit requests.' : 'You have no open credit requests.')];
  }
  const lines = requests
    .slice(0, 45)
    .map(
      (r) =>
        `*#${r.id}* ${who(r.memberName, r.memberSlackUserId)} asks for *${amountOf(r)}*${r.reason ? ` — ${escapeText(r.reason.slice(0, 200))}` : ''} · expires ${utcMinute(r.expiresAt)}`,
    );
  const blocks: Blocks = lines.map((line) => section(line));
  if (requests.length > 45) blocks.push(context(`and ${requests.length - 45} more: see the API`));
  return blocks;
}

import type { DigestSettings } from '../../digests/digest.service.ts';
import type { AutoRechargeView } from '../../ledger/auto-recharge.service.ts';
import type { MoveResult } from '../../ledger/ledger.service.ts';
import type { SpendingLimitView } from '../../ledger/spending-limit.service.ts';
import type { MemberView, TeamView } from '../../members/views.ts';
import { type DomainError, isDomainError } from '../../shared/errors.ts';
import { formatMoney } from '../../shared/money.ts';
import { ACTIONS } from '../ids.ts';
import { actions, type Blocks, button, escapeText, section } from './blocks.ts';
import { apiKeyOnceBlocks, memberName } from './members.ts';
import { deleteQuestion } from './modals.ts';

const ERROR_ICON: Record<DomainError['code'], string> = {
  validation: ':warning:',
  not_found: ':mag:',
  forbidden: ':no_entry:',
  unauthenticated: ':wave:',
  insufficient_funds: ':money_with_wings:',
  spending_limit: ':money_with_wings:',
  conflict: ':warning:',
  rate_limited: ':hourglass:',
};

const OUR_FAULT = 'Something went wrong on our side and nothing was changed. Please try again in a moment.';

/** A refusal from a service, worded for the person who asked; anything else is our fault, not theirs. */
export function refusalText(error: unknown): string {
  return isDomainError(error) ? sentence(error.message) : OUR_FAULT;
}

export function errorText(error: unknown): string {
  return `${isDomainError(error) ? ERROR_ICON[error.code] : ':boom:'} ${refusalText(error)}`;
}

export function sentence(text: string): string {
  // Only a leading plain word is capitalised: an email or a mention at the start stays as written.
  const capital = /^[a-z]+(?=\s)/.test(text) ? text.charAt(0).toUpperCase() + text.slice(1) : text;
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

export function moneyMovedText(result: MoveResult, team: Pick<TeamView, 'currency'>): string {
  const amount = formatMoney(result.amount, team.currency);
  const who = memberName(result.member);
  const moved = result.kind === 'credit' ? `Credited ${amount} to ${who}` : `Debited ${amount} from ${who}`;
  const balances = [
    result.memberBalance === null
      ? ''
      : `${escapeText(result.member.name)} now has *${formatMoney(result.memberBalance, team.currency)}*`,
    result.masterBalance === null
      ? ''
      : `master balance *${formatMoney(result.masterBalance, team.currency)}*`,
  ].filter(Boolean);
  const replay = result.replayed ? ' (this was already done; nothing moved twice)' : '';
  return `${moved}${replay}. ${sentence(balances.join('; '))}`;
}

export function statusChangedText(member: MemberView): string {
  return member.status === 'active'
    ? `${memberName(member)} is active: its API key works again.`
    : `${memberName(member)} is inactive: its API key is refused and nothing is charged.`;
}

export function balanceText(team: TeamView, caller: MemberView): string {
  return caller.role === 'user'
    ? `Your balance is *${formatMoney(caller.balance, team.currency)}*.`
    : `The master balance of *${escapeText(team.name)}* is *${formatMoney(team.masterBalance, team.currency)}*.`;
}

export function autoRechargeText(
  rule: AutoRechargeView,
  member: Pick<MemberView, 'id' | 'name'>,
  currency: string,
): string {
  const cap = rule.dailyCap === null ? '' : `, at most ${formatMoney(rule.dailyCap, currency)} a day`;
  return `Auto-recharge for ${memberName(member)}: when the balance falls below ${formatMoney(rule.threshold, currency)}, add ${formatMoney(rule.amount, currency)} from the master balance${cap}.`;
}

export function autoRechargeOffText(removed: boolean, memberLabel: string): string {
  return removed
    ? `Auto-recharge is off for ${memberLabel}.`
    : `${memberLabel} had no auto-recharge rule; nothing changed.`;
}

export function alertsText(team: TeamView): string {
  return `Low-balance alerts go to <#${team.alertsChannel}>; members without auto-recharge are alerted below ${formatMoney(team.lowBalanceLevel, team.currency)}.`;
}

export function digestText(settings: DigestSettings): string {
  if (!settings.frequency || !settings.channel) return 'The statistics digest is off.';
  const when = settings.frequency === 'weekly' ? 'every Monday' : 'every day';
  return `A statistics digest goes to <#${settings.channel}> ${when} at ${settings.time} (${settings.timezone}).`;
}

export function timezoneText(team: Pick<TeamView, 'timezone'>, changed: boolean): string {
  return changed
    ? `The team's timezone is now ${team.timezone}: statistics days, spending-limit months and the digest (unless it has a zone of its own) follow it.`
    : `The team's timezone is ${team.timezone}. \`/team timezone <zone>\` changes it (an IANA zone like Europe/Athens).`;
}

export function spendingLimitText(limit: SpendingLimitView): string {
  const money = (micros: bigint) => formatMoney(micros, limit.currency);
  return `Spending limit for ${memberName({ id: limit.memberId, name: limit.memberName })}: ${money(limit.monthlyLimit)} a month. Spent in ${limit.month}: ${money(limit.spent)}; ${money(limit.remaining)} left.`;
}

export function spendingLimitOffText(removed: boolean, memberLabel: string): string {
  return removed
    ? `${memberLabel} has no spending limit any more.`
    : `${memberLabel} had no spending limit; nothing changed.`;
}

export function linkedText(member: MemberView): string {
  return `<@${member.slackUserId}> is now linked to ${memberName(member)}: their /team commands act as that member.`;
}

export function setupText(team: TeamView): string {
  return `Team *${escapeText(team.name)}* is set up with currency ${team.currency}, and you are its owner. Try \`/team help\`, or open the Home tab for the team page.`;
}

export function setupBlocks(team: TeamView, owner: MemberView, apiKey: string): Blocks {
  return [section(setupText(team)), ...apiKeyOnceBlocks(owner, apiKey, 'Your own sub-account is')];
}

export function closedText(member: MemberView, returned: bigint, currency: string): string {
  return returned > 0n
    ? `Deleted ${memberName(member)}; ${formatMoney(returned, currency)} returned to the master balance.`
    : `Deleted ${memberName(member)}.`;
}

/** `/team delete`: the question with the only button that deletes. */
export function deleteConfirmationBlocks(member: MemberView, currency: string): Blocks {
  return [
    ...deleteQuestion(member, currency),
    actions('delete_confirmation', [
      button('Delete', ACTIONS.confirmDelete, String(member.id), 'danger'),
      button('Cancel', ACTIONS.cancelDelete, String(member.id)),
    ]),
  ];
}

import type { MonthSpend } from '../../ledger/spending-limits.ts';
import { maskApiKey } from '../../members/api-keys.ts';
import type { MemberStatus } from '../../members/member.entity.ts';
import type { MemberDetails, MemberPage } from '../../members/member.service.ts';
import type { MemberView, TeamView } from '../../members/views.ts';
import { formatMoney } from '../../shared/money.ts';
import { ACTIONS } from '../ids.ts';
import { actions, type Blocks, button, context, escapeText, fields, header, section } from './blocks.ts';

/** Members per `/team list` message: one block each keeps a page well under the 50-block message limit. */
export const LIST_PAGE_SIZE = 20;

const STATUS_BADGE: Record<MemberStatus, string> = {
  active: ':large_green_circle: active',
  inactive: ':double_vertical_bar: inactive',
  invited: ':envelope: invited',
  closed: ':heavy_multiplication_x: closed',
};

export function statusBadge(status: MemberStatus): string {
  return STATUS_BADGE[status];
}

export function memberName(member: Pick<MemberView, 'id' | 'name'>): string {
  return `*${escapeText(member.name)}* (#${member.id})`;
}

/** One member on one line pair: what the team page shows (name, email, masked key, balance, status). */
export function memberSummary(member: MemberView, currency: string): string {
  const role = member.role === 'user' ? '' : ` · ${member.role}`;
  const slack = member.slackUserId ? ` · <@${member.slackUserId}>` : '';
  return (
    `${memberName(member)}${role}${slack}\n` +
    `${escapeText(member.email ?? 'no email')} · \`${maskApiKey(member.apiKeyPrefix)}\` · *${formatMoney(member.balance, currency)}* · ${statusBadge(member.status)}`
  );
}

export interface PageState {
  status?: MemberStatus;
  page: number;
}

export function pageCount(page: Pick<MemberPage, 'total' | 'limit'>): number {
  return Math.max(1, Math.ceil(page.total / page.limit));
}

/** Previous / next buttons carrying the filter, or nothing when everything fits on one page. */
export function pager(blockId: string, actionId: string, page: MemberPage, status?: MemberStatus) {
  const last = pageCount(page);
  if (last <= 1) return [];
  const value = (target: number) =>
    JSON.stringify({ page: target, ...(status && { status }) } satisfies PageState);
  return [
    actions(blockId, [
      ...(page.page > 1 ? [button('← Previous', `${actionId}_prev`, value(page.page - 1))] : []),
      ...(page.page < last ? [button('Next →', `${actionId}_next`, value(page.page + 1))] : []),
    ]),
  ];
}

/** `/team list`: the team page as an ephemeral message, one page at a time. */
export function memberListBlocks(team: TeamView, page: MemberPage, status?: MemberStatus): Blocks {
  const first = (page.page - 1) * page.limit + 1;
  const last = first + page.items.length - 1;
  const what = status ? `${status} members` : 'members';
  const summary =
    page.total === 0
      ? `No ${what}.`
      : `${first}–${last} of ${page.total} ${what} · page ${page.page} of ${pageCount(page)}`;
  return [
    header(`${team.name} — members`),
    context(`Master balance *${formatMoney(team.masterBalance, team.currency)}*`, summary),
    ...page.items.map((member) => section(memberSummary(member, team.currency))),
    ...pager('list_pager', ACTIONS.listPage, page, status),
  ];
}

/** `/team show`: everything about one member. */
export function memberCardBlocks(member: MemberDetails, team: TeamView): Blocks {
  const rule = member.autoRecharge;
  const autoRecharge = rule
    ? `below ${formatMoney(rule.threshold, team.currency)} add ${formatMoney(rule.amount, team.currency)}` +
      (rule.dailyCap === null ? '' : `, at most ${formatMoney(rule.dailyCap, team.currency)} a day`)
    : 'off';
  // Ten fields at most in a section: this is the tenth, shown only when there is a limit.
  const creditLimit: [string, string][] =
    member.creditLimit > 0n
      ? [['Credit limit', `may go to ${formatMoney(-member.creditLimit, team.currency)}`]]
      : [];
  return [
    header(member.name),
    fields([
      ['Member id', `#${member.id}`],
      ['Role', member.role],
      ['Email', escapeText(member.email ?? '—')],
      ['Status', statusBadge(member.status)],
      [
        'Balance',
        member.sharesMasterBalance
          ? 'sends from the master balance'
          : formatMoney(member.balance, team.currency),
      ],
      ...creditLimit,
      ['API key', `\`${maskApiKey(member.apiKeyPrefix)}\``],
      ['Username · key id', `\`${member.username}\` · \`${member.keyId}\``],
      ['Slack user', member.slackUserId ? `<@${member.slackUserId}>` : 'not linked'],
      ['Auto-recharge', autoRecharge],
      ['Spending limit', spendingLimitLine(member.spendingLimit, team.currency)],
    ]),
    context(`Member of ${escapeText(team.name)} since ${member.createdAt.toISOString().slice(0, 10)}`),
  ];
}

/** "€10.00 a month · €7.50 spent in 2026-12, €2.50 left", or off. */
export function spendingLimitLine(spend: MonthSpend | null | undefined, currency: string): string {
  if (!spend) return 'off';
  const money = (micros: bigint) => formatMoney(micros, currency);
  return `${money(spend.monthlyLimit)} a month · ${money(spend.spent)} spent in ${spend.month}, ${money(spend.remaining)} left`;
}

/** A new API key, shown this once and only to the person who asked for it. */
export function apiKeyOnceBlocks(
  member: Pick<MemberView, 'id' | 'name'>,
  apiKey: string,
  why: string,
): Blocks {
  return [
    section(`${why} ${memberName(member)}. Its API key is shown *this once*: copy it now.`),
    section(`\`\`\`${apiKey}\`\`\``),
    context('teamops keeps only a hash of the key. If it is lost, issue a new one with `/team key`.'),
  ];
}

export function apiKeyOnceText(member: Pick<MemberView, 'id' | 'name'>, apiKey: string): string {
  return `API key for ${member.name} (#${member.id}), shown once: ${apiKey}`;
}

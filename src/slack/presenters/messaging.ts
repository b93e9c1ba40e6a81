import type { MessagePage, MessageView } from '../../messaging/views.ts';
import { formatMoney } from '../../shared/money.ts';
import type { StatsTotals, StatsView } from '../../stats/stats.service.ts';
import { type Blocks, context, escapeText, fields, header, section } from './blocks.ts';

/** Messages per reply: one block each keeps a message (50 blocks) and a modal (100) within limits. */
export const LOG_PAGE_SIZE = 20;
const MEMBERS_SHOWN = 30;

const STATUS_ICON: Record<MessageView['status'], string> = {
  queued: ':hourglass_flowing_sand:',
  sent: ':outbox_tray:',
  delivered: ':white_check_mark:',
  failed: ':x:',
};

function stamp(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function messageLine(message: MessageView, currency: string, showMember: boolean): string {
  const preview = message.message.length > 120 ? `${message.message.slice(0, 119)}…` : message.message;
  const who = showMember ? `${escapeText(message.memberName)} → ` : '→ ';
  const refund = message.refunded ? ' (refunded)' : '';
  const error = message.error ? ` · ${escapeText(message.error)}` : '';
  return (
    `${STATUS_ICON[message.status]} ${who}\`${message.to}\` · ${message.status}${error} · ` +
    `${message.parts} part${message.parts === 1 ? '' : 's'} · ${formatMoney(message.cost, currency)}${refund} · ${stamp(message.createdAt)}\n` +
    `>${escapeText(preview).replace(/\n/g, ' ')}`
  );
}

/** `/team logs` and the log filters modal: newest first. */
export function messageLogBlocks(page: MessagePage, title: string): Blocks {
  if (page.items.length === 0) return [section(`${escapeText(title)}: no messages match.`)];
  const showMember = new Set(page.items.map((m) => m.memberId)).size > 1;
  return [
    header(title),
    ...page.items.map((message) => section(messageLine(message, page.currency, showMember))),
    context(
      page.nextCursor
        ? `The ${page.items.length} newest shown; narrow the dates to see older ones.`
        : `${page.items.length} message${page.items.length === 1 ? '' : 's'}.`,
    ),
  ];
}

function totals(t: StatsTotals, currency: string): [string, string][] {
  return [
    ['Messages', String(t.messages)],
    ['Parts', String(t.parts)],
    ['Cost', formatMoney(t.cost, currency)],
    ['Delivered', String(t.delivered)],
    ['Failed', String(t.failed)],
    ['Pending', String(t.pending)],
  ];
}

/** `/team stats`: the team's totals for managers, then each member with messages in the range. */
export function statsBlocks(stats: StatsView): Blocks {
  const range = stats.from === stats.to ? stats.from : `${stats.from} – ${stats.to}`;
  const blocks: Blocks = [header(`Statistics ${range}`)];
  if (stats.team) blocks.push(section('*Whole team*'), fields(totals(stats.team, stats.currency)));
  if (stats.members.length === 0) {
    blocks.push(section('No messages in this period.'));
    return blocks;
  }
  for (const member of stats.members.slice(0, MEMBERS_SHOWN)) {
    blocks.push(
      section(
        `*${escapeText(member.name)}* (#${member.memberId}): ${member.messages} messages, ${member.parts} parts, ` +
          `${formatMoney(member.cost, stats.currency)} · ${member.delivered} delivered, ${member.failed} failed, ${member.pending} pending`,
      ),
    );
  }
  if (stats.members.length > MEMBERS_SHOWN)
    blocks.push(
      context(
        `${stats.members.length - MEMBERS_SHOWN} more members; ask for one with \`/team stats <member>\`.`,
      ),
    );
  return blocks;
}

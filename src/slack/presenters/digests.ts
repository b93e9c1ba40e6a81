import type { KnownBlock } from '@slack/types';
import type { DigestReport, MemberActivity } from '../../digests/digest-report.ts';
import type { SlackMessage } from '../../jobs/jobs.ts';
import { formatMoney } from '../../shared/money.ts';
import { context, escapeText, fields, header, section } from './blocks.ts';

/** One Slack message: totals with the change from the previous period, top members, low balances. */
export function digestMessage(report: DigestReport): SlackMessage {
  const money = (micros: bigint) => formatMoney(micros, report.currency);
  const period = report.frequency === 'daily' ? 'day' : 'week';
  const title = `${report.frequency === 'daily' ? 'Daily' : 'Weekly'} digest for ${report.teamName}`;
  const range = `${formatWhen(report.start, report.timezone)} – ${formatWhen(report.end, report.timezone)}`;
  const { totals, previous } = report;
  const blocks: KnownBlock[] = [
    header(title),
    context(range),
    fields([
      ['Messages', `${totals.messages} (${change(totals.messages, previous.messages)})`],
      ['Parts', `${totals.parts} (${change(totals.parts, previous.parts)})`],
      ['Cost', `${money(totals.cost)} (${change(totals.cost, previous.cost)})`],
      [`Previous ${period}`, `${previous.messages} messages, ${money(previous.cost)}`],
    ]),
  ];
  if (report.topByMessages.length > 0) {
    blocks.push(
      section(`*Top members by messages*\n${list(report.topByMessages, (m) => `${m.messages} messages`)}`),
    );
  }
  if (report.topByCost.length > 0) {
    blocks.push(section(`*Top members by cost*\n${list(report.topByCost, (m) => money(m.cost))}`));
  }
  if (totals.messages === 0) blocks.push(section(`No messages were sent this ${period}.`));
  blocks.push(
    section(
      report.lowBalances.length === 0
        ? '*Low balances*\nNo member is below its level.'
        : `*Low balances*\n${report.lowBalances
            .map((m) => `• ${escapeText(m.name)}: ${money(m.balance)} (level ${money(m.level)})`)
            .join('\n')}`,
    ),
  );
  const text = `${title}: ${totals.messages} messages (${change(totals.messages, previous.messages)} from the previous ${period}), ${money(totals.cost)}.`;
  return { channel: report.channel, text, blocks };
}

function list(members: MemberActivity[], figure: (member: MemberActivity) => string): string {
  return members.map((member, i) => `${i + 1}. ${escapeText(member.name)}: ${figure(member)}`).join('\n');
}

/** "+25%", "−10%", "no change", or "new" when the previous period had none. */
export function change(now: number | bigint, before: number | bigint): string {
  const current = Number(now);
  const earlier = Number(before);
  if (earlier === 0) return current === 0 ? 'no change' : 'new';
  const percent = Math.round(((current - earlier) / earlier) * 100);
  if (percent === 0) return 'no change';
  return percent > 0 ? `+${percent}%` : `−${Math.abs(percent)}%`;
}

function formatWhen(date: Date, timezone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  }).format(date);
}

import { describeRef, type MemberRef } from '../../members/lookups.ts';
import type { StatementKind } from '../../statements/statement.service.ts';
import type { Reply } from '../commands/spec.ts';
import { escapeText, section } from './blocks.ts';

/** What a statement covers, in words: "transfers of 12 from 2026-11-01 to 2026-11-30". */
export function statementScope(
  kind: StatementKind,
  filters: { member?: MemberRef | null; from?: string | null; to?: string | null },
): string {
  const who = filters.member ? ` of ${describeRef(filters.member)}` : '';
  const { from, to } = filters;
  const when =
    from && to ? ` from ${from} to ${to}` : from ? ` since ${from}` : to ? ` up to ${to}` : ', all of them';
  return `${kind}${who}${when}`;
}

export function exportAcceptedReply(scope: string): Reply {
  const text = `Preparing your statement (${scope}): it will arrive as a CSV file in your direct messages with teamops.`;
  return { text, blocks: [section(`:page_facing_up: ${escapeText(text)}`)] };
}

/** The comment the CSV file is shared with in the DM. */
export function statementComment(scope: string, rows: number): string {
  return `Your statement: ${scope} (${rows.toLocaleString('en')} ${rows === 1 ? 'row' : 'rows'}).`;
}

export function nothingToExportText(scope: string): string {
  return `Nothing to export: there are no ${scope.replace(', all of them', '')} you may see.`;
}

export function exportRefusedText(scope: string, reason: string): string {
  return `Your statement (${scope}) could not be made: ${reason}`;
}

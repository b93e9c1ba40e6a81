import { STATEMENT_KINDS } from '../../statements/statement.service.ts';
import { type MemberRef, parseMemberRef, quote, UsageError } from '../parse/references.ts';
import { oneOf } from '../parse/words.ts';
import { exportAcceptedReply, statementScope } from '../presenters/statements.ts';
import { parseDate } from './logs.ts';
import { EVERYONE, type SubcommandSpec } from './spec.ts';

const DAY = /^\d{4}-\d{2}-\d{2}$/;

export const exportStatement: SubcommandSpec<'export'> = {
  usage: '/team export transfers|messages [member] [YYYY-MM-DD] [YYYY-MM-DD]',
  summary: 'a CSV statement, sent to you as a file by direct message',
  shownTo: EVERYONE,
  parse(words) {
    const kind = oneOf(
      words.take('What to export (transfers or messages)'),
      STATEMENT_KINDS,
      'What to export',
    );
    let member: MemberRef | undefined;
    const dates: string[] = [];
    for (const word of words.rest()) {
      if (DAY.test(word) && dates.length < 2) dates.push(parseDate(word));
      else if (member === undefined && dates.length === 0) member = parseMemberRef(word);
      else throw new UsageError(`${quote(word)} was not expected: give a member, then at most two dates.`);
    }
    const [from, to] = dates;
    if (from && to && from > to)
      throw new UsageError(`The first date (${from}) is after the second (${to}).`);
    return { name: 'export', kind, ...(member && { member }), ...(from && { from }), ...(to && { to }) };
  },
  handle: async (command, { deps, caller }) => {
    const filters = { member: command.member ?? null, from: command.from ?? null, to: command.to ?? null };
    await deps.services.statements.requestExport(caller.actor, {
      kind: command.kind,
      ...filters,
      slackUserId: caller.slackUserId,
    });
    return exportAcceptedReply(statementScope(command.kind, filters));
  },
  changesTeamPage: false,
};

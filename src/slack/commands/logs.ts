import { describeRef } from '../../members/lookups.ts';
import { MESSAGE_STATUSES, type MessageStatus } from '../../messaging/message.entity.ts';
import { parseMemberRef, quote, UsageError } from '../parse/references.ts';
import { oneOf } from '../parse/words.ts';
import { LOG_PAGE_SIZE, messageLogBlocks } from '../presenters/messaging.ts';
import { EVERYONE, type SubcommandSpec } from './spec.ts';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export function parseDate(word: string): string {
  const match = DATE.exec(word);
  const date = match ? new Date(`${word}T00:00:00Z`) : undefined;
  if (!date || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== word)
    throw new UsageError(`${quote(word)} is not a date: write it as YYYY-MM-DD.`);
  return word;
}

export const logs: SubcommandSpec<'logs'> = {
  usage: '/team logs <member> [status] [YYYY-MM-DD] [YYYY-MM-DD]',
  summary: 'the message log, filtered',
  shownTo: EVERYONE,
  parse(words) {
    const member = parseMemberRef(words.take('The member'));
    let status: MessageStatus | undefined;
    const dates: string[] = [];
    for (const word of words.rest()) {
      if (dates.length === 0 && status === undefined && /^[a-z_]+$/i.test(word))
        status = oneOf(word, MESSAGE_STATUSES, 'The status');
      else if (dates.length < 2) dates.push(parseDate(word));
      else throw new UsageError(`${quote(word)} was not expected: at most two dates.`);
    }
    const [from, to] = dates;
    if (from && to && from > to)
      throw new UsageError(`The first date (${from}) is after the second (${to}).`);
    return { name: 'logs', member, ...(status && { status }), ...(from && { from }), ...(to && { to }) };
  },
  handle: async (command, { deps, caller }) => {
    const page = await deps.services.messaging.searchLog(caller.actor, {
      member: command.member,
      status: command.status ?? null,
      from: command.from ?? null,
      to: command.to ?? null,
      limit: LOG_PAGE_SIZE,
    });
    const title = `Messages of ${describeRef(command.member)}`;
    return { text: `${page.items.length} messages`, blocks: messageLogBlocks(page, title) };
  },
  changesTeamPage: false,
};

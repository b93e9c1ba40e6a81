import { PERIODS as STATS_PERIODS, type Period as StatsPeriod } from '../../stats/stats.service.ts';
import { type MemberRef, parseMemberRef, quote, UsageError } from '../parse/references.ts';
import { statsBlocks } from '../presenters/messaging.ts';
import { EVERYONE, type SubcommandSpec } from './spec.ts';

export const stats: SubcommandSpec<'stats'> = {
  usage: '/team stats [member] [today|7d|30d|month]',
  summary: 'messages, parts and cost by period',
  shownTo: EVERYONE,
  parse(words) {
    let member: MemberRef | undefined;
    let period: StatsPeriod | undefined;
    for (const word of words.rest()) {
      const lower = word.toLowerCase();
      if (period === undefined && (STATS_PERIODS as readonly string[]).includes(lower))
        period = lower as StatsPeriod;
      else if (member === undefined && period === undefined) member = parseMemberRef(word);
      else throw new UsageError(`${quote(word)} was not expected: give a member, then a period.`);
    }
    return { name: 'stats', ...(member && { member }), ...(period && { period }) };
  },
  handle: async (command, { deps, caller, body }) => {
    const filters = {
      ...(command.member && { member: command.member }),
      ...(command.period && { period: command.period }),
    };
    const result = await deps.services.stats.query(caller.actor, filters);
    // The same figures as a picture, posted in the channel by a job; the answer does not wait for it.
    await deps.services.charts.request(caller.actor, filters, body.channel_id);
    return { text: `Statistics ${result.from} – ${result.to}`, blocks: statsBlocks(result) };
  },
  changesTeamPage: false,
};

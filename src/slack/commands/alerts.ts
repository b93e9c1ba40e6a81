import { isAmountWord, parseAmountWord, parseChannel, quote, UsageError } from '../parse/references.ts';
import { alertsText } from '../presenters/replies.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

export const alerts: SubcommandSpec<'alerts'> = {
  usage: '/team alerts <#channel> [level]',
  summary: 'where low-balance alerts go, and below which balance (default 1.00)',
  shownTo: MANAGERS,
  parse(words) {
    const channel = parseChannel(words.take('The #channel'));
    const levelWord = words.takeOptional();
    words.end();
    if (levelWord === undefined) return { name: 'alerts', channel };
    if (!isAmountWord(levelWord))
      throw new UsageError(`The level must be an amount like 1.00, not ${quote(levelWord)}.`);
    return { name: 'alerts', channel, level: parseAmountWord(levelWord, 'level', { allowZero: true }) };
  },
  handle: async (command, { deps, caller }) => {
    const team = await deps.services.teams.setAlerts(caller.actor, {
      channel: command.channel,
      level: command.level ?? null,
    });
    return { text: alertsText(team) };
  },
  changesTeamPage: false,
};

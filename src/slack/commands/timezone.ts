import { timezoneText } from '../presenters/replies.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

export const timezone: SubcommandSpec<'timezone'> = {
  usage: '/team timezone <IANA zone>',
  summary: "the team's timezone (default UTC): its days, months and digests",
  shownTo: MANAGERS,
  parse(words) {
    const zone = words.takeOptional();
    words.end();
    // The service checks the zone (Intl), so the API and Slack refuse the same names alike.
    return zone === undefined ? { name: 'timezone' } : { name: 'timezone', timezone: zone };
  },
  handle: async (command, { deps, caller }) => {
    if (command.timezone === undefined)
      return { text: timezoneText(await deps.services.teams.get(caller.actor), false) };
    const team = await deps.services.teams.setTimezone(caller.actor, { timezone: command.timezone });
    return { text: timezoneText(team, true) };
  },
  changesTeamPage: false,
};

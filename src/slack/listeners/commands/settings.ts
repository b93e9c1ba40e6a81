import { alertsText, digestText } from '../../presenters/replies.ts';
import type { SubcommandHandler } from './subcommand.ts';

export const setAlerts: SubcommandHandler<'alerts'> = async (command, { deps, caller }) => {
  const team = await deps.services.teams.setAlerts(caller.actor, {
    channel: command.channel,
    level: command.level ?? null,
  });
  return { text: alertsText(team) };
};

export const setDigest: SubcommandHandler<'digest'> = async (command, { deps, caller }) => {
  const settings = await deps.services.digests.configure(caller.actor, {
    channel: command.channel ?? null,
    frequency: command.frequency,
    time: command.time ?? null,
    timezone: command.timezone ?? null,
  });
  return { text: digestText(settings) };
};

import { describeRef } from '../../../members/lookups.ts';
import { LOG_PAGE_SIZE, messageLogBlocks, statsBlocks } from '../../presenters/messaging.ts';
import type { SubcommandHandler } from './subcommand.ts';

export const showStats: SubcommandHandler<'stats'> = async (command, { deps, caller }) => {
  const stats = await deps.services.stats.query(caller.actor, {
    ...(command.member && { member: command.member }),
    ...(command.period && { period: command.period }),
  });
  return { text: `Statistics ${stats.from} – ${stats.to}`, blocks: statsBlocks(stats) };
};

export const showLogs: SubcommandHandler<'logs'> = async (command, { deps, caller }) => {
  const page = await deps.services.messaging.searchLog(caller.actor, {
    member: command.member,
    status: command.status ?? null,
    from: command.from ?? null,
    to: command.to ?? null,
    limit: LOG_PAGE_SIZE,
  });
  const title = `Messages of ${describeRef(command.member)}`;
  return { text: `${page.items.length} messages`, blocks: messageLogBlocks(page, title) };
};

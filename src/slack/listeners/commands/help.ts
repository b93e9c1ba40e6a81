import { callerTeamView } from '../../context.ts';
import { helpBlocks, helpLines } from '../../presenters/help.ts';
import type { SubcommandHandler } from './subcommand.ts';

export const showHelp: SubcommandHandler<'help'> = async (_command, { deps, caller }) => {
  const team = await callerTeamView(deps, caller);
  return {
    text: helpLines(caller.member.role).join('\n'),
    blocks: helpBlocks(caller.member.role, team.name),
  };
};

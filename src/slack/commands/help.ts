import { callerTeamView } from '../context.ts';
import { noArguments } from '../parse/words.ts';
import { helpBlocks } from '../presenters/help.ts';
import { EVERYONE, type SubcommandSpec } from './spec.ts';

export const help: SubcommandSpec<'help'> = {
  usage: '/team help',
  summary: 'what you can do here',
  shownTo: EVERYONE,
  parse: noArguments('help'),
  handle: async (_command, { deps, caller }) => {
    // The help lists every subcommand, this one included: the table is read when help is asked for,
    // not when this module loads, since the table is built from this module.
    const { helpLines } = await import('./index.ts');
    const team = await callerTeamView(deps, caller);
    const lines = helpLines(caller.member.role);
    return { text: lines.join('\n'), blocks: helpBlocks(caller.member.role, team.name, lines) };
  },
  changesTeamPage: false,
};

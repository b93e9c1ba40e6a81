import { callerTeamView } from '../context.ts';
import { memberOnly } from '../parse/words.ts';
import { memberCardBlocks } from '../presenters/members.ts';
import { EVERYONE, type SubcommandSpec } from './spec.ts';

export const show: SubcommandSpec<'show'> = {
  usage: '/team show <member>',
  summary: "one member's details",
  shownTo: EVERYONE,
  parse: memberOnly('show'),
  handle: async (command, { deps, caller }) => {
    const [team, member] = await Promise.all([
      callerTeamView(deps, caller),
      deps.services.members.show(caller.actor, command.member),
    ]);
    return { text: `${member.name} (#${member.id})`, blocks: memberCardBlocks(member, team) };
  },
  changesTeamPage: false,
};

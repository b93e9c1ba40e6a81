import { memberOnly } from '../parse/words.ts';
import { statusChangedText } from '../presenters/replies.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

export const enable: SubcommandSpec<'enable'> = {
  usage: '/team enable <member>',
  summary: "accept the member's API key again",
  shownTo: MANAGERS,
  parse: memberOnly('enable'),
  handle: async (command, { deps, caller }) => {
    const member = await deps.services.members.enable(caller.actor, command.member);
    return { text: statusChangedText(member) };
  },
  changesTeamPage: true,
};

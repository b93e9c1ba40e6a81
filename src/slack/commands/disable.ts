import { memberOnly } from '../parse/words.ts';
import { statusChangedText } from '../presenters/replies.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

export const disable: SubcommandSpec<'disable'> = {
  usage: '/team disable <member>',
  summary: "refuse the member's API key; nothing is charged",
  shownTo: MANAGERS,
  parse: memberOnly('disable'),
  handle: async (command, { deps, caller }) => {
    const member = await deps.services.members.disable(caller.actor, command.member);
    return { text: statusChangedText(member) };
  },
  changesTeamPage: true,
};

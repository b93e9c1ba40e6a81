import { callerTeamView } from '../context.ts';
import { memberOnly } from '../parse/words.ts';
import { deleteConfirmationBlocks } from '../presenters/replies.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

/** Only asks: the Delete button on the reply is what closes the member (actions/delete-member.ts). */
export const deleteMember: SubcommandSpec<'delete'> = {
  usage: '/team delete <member>',
  summary: 'close a member after you confirm; the balance returns to master',
  shownTo: MANAGERS,
  parse: memberOnly('delete'),
  handle: async (command, { deps, caller }) => {
    const [team, member] = await Promise.all([
      callerTeamView(deps, caller),
      deps.services.members.show(caller.actor, command.member),
    ]);
    return { text: `Delete ${member.name}?`, blocks: deleteConfirmationBlocks(member, team.currency) };
  },
  // Deleting asks first; the confirmation button refreshes the page.
  changesTeamPage: false,
};

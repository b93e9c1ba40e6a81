import { noArguments } from '../parse/words.ts';
import { invitationListBlocks } from '../presenters/invitations.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

export const invitations: SubcommandSpec<'invitations'> = {
  usage: '/team invitations',
  summary: 'pending invitations',
  shownTo: MANAGERS,
  parse: noArguments('invitations'),
  handle: async (_command, { deps, caller }) => {
    const pending = await deps.services.invitations.list(caller.actor);
    return { text: `${pending.length} pending invitations`, blocks: invitationListBlocks(pending) };
  },
  changesTeamPage: false,
};

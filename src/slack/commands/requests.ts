import { noArguments } from '../parse/words.ts';
import { creditRequestListBlocks } from '../presenters/credit-requests.ts';
import { EVERYONE, MANAGERS, type SubcommandSpec } from './spec.ts';

export const requests: SubcommandSpec<'requests'> = {
  usage: '/team requests',
  summary: 'open credit requests (a user sees its own)',
  shownTo: EVERYONE,
  parse: noArguments('requests'),
  handle: async (_command, { deps, caller }) => {
    const open = await deps.services.creditRequests.list(caller.actor, { status: 'open', limit: 50 });
    const everyone = MANAGERS.includes(caller.member.role);
    return { text: `${open.length} open credit requests`, blocks: creditRequestListBlocks(open, everyone) };
  },
  changesTeamPage: false,
};

import { callerTeamView } from '../context.ts';
import { noArguments } from '../parse/words.ts';
import { balanceText } from '../presenters/replies.ts';
import { EVERYONE, type SubcommandSpec } from './spec.ts';

export const balance: SubcommandSpec<'balance'> = {
  usage: '/team balance',
  summary: 'the master balance (your own balance if you are a user)',
  shownTo: EVERYONE,
  parse: noArguments('balance'),
  handle: async (_command, { deps, caller }) => {
    const team = await callerTeamView(deps, caller);
    return { text: balanceText(team, caller.member) };
  },
  changesTeamPage: false,
};

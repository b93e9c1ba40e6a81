import { memberOnly } from '../parse/words.ts';
import { apiKeyOnceBlocks, apiKeyOnceText } from '../presenters/members.ts';
import { EVERYONE, type SubcommandSpec } from './spec.ts';

export const key: SubcommandSpec<'key'> = {
  usage: '/team key <member>',
  summary: 'rotate an API key (the new key is shown once)',
  shownTo: EVERYONE,
  parse: memberOnly('key'),
  handle: async (command, { deps, caller }) => {
    const { member, apiKey } = await deps.services.members.rotateKey(caller.actor, command.member);
    return {
      text: apiKeyOnceText(member, apiKey),
      blocks: apiKeyOnceBlocks(member, apiKey, 'Issued a new key (the old one no longer works) for'),
    };
  },
  changesTeamPage: true,
};

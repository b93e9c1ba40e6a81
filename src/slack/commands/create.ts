import { emailOf, UsageError } from '../parse/references.ts';
import { apiKeyOnceBlocks, apiKeyOnceText } from '../presenters/members.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

export const create: SubcommandSpec<'create'> = {
  usage: '/team create <name> [email]',
  summary: 'a new sub-account with a generated API key, shown once',
  shownTo: MANAGERS,
  parse(words) {
    if (words.remaining === 0) throw new UsageError('The member name is missing.');
    const last = words.last()!;
    const email = emailOf(last);
    if (email) words.popLast();
    const memberName = words.rest().join(' ');
    if (memberName === '') throw new UsageError('The member name is missing (it comes before the email).');
    return email ? { name: 'create', memberName, email } : { name: 'create', memberName };
  },
  handle: async (command, { deps, caller }) => {
    const { member, apiKey } = await deps.services.members.create(caller.actor, {
      name: command.memberName,
      email: command.email ?? null,
    });
    return { text: apiKeyOnceText(member, apiKey), blocks: apiKeyOnceBlocks(member, apiKey, 'Created') };
  },
  changesTeamPage: true,
};

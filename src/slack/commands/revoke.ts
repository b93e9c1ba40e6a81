import { emailOf, quote, UsageError } from '../parse/references.ts';
import { revokedText } from '../presenters/invitations.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

export const revoke: SubcommandSpec<'revoke'> = {
  usage: '/team revoke <invitation id | email>',
  summary: 'withdraw a pending invitation',
  shownTo: MANAGERS,
  parse(words) {
    const which = words.take('The invitation id or email');
    words.end();
    const email = emailOf(which);
    if (email) return { name: 'revoke', invitation: { email } };
    const id = /^#?(\d{1,15})$/.exec(which);
    if (id && Number(id[1]) > 0) return { name: 'revoke', invitation: { id: Number(id[1]) } };
    throw new UsageError(`${quote(which)} is not an invitation id or an email.`);
  },
  handle: async (command, { deps, caller }) => {
    const invitation = await deps.services.invitations.revoke(caller.actor, command.invitation);
    return { text: revokedText(invitation) };
  },
  changesTeamPage: true,
};

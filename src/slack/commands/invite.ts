import { INVITABLE_ROLES } from '../../invitations/invitation.service.ts';
import { emailOf, quote, slackUserOf, UsageError } from '../parse/references.ts';
import { oneOf } from '../parse/words.ts';
import { invitedText } from '../presenters/invitations.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

export const invite: SubcommandSpec<'invite'> = {
  usage: '/team invite <email | @user> [admin|user]',
  summary: 'invite someone to join as a member',
  shownTo: MANAGERS,
  parse(words) {
    const who = words.take('The email or @user to invite');
    const email = emailOf(who);
    const slackUserId = email ? undefined : slackUserOf(who);
    if (!email && !slackUserId) throw new UsageError(`${quote(who)} is not an email or a Slack mention.`);
    const roleWord = words.takeOptional();
    words.end();
    const role = roleWord === undefined ? 'user' : oneOf(roleWord, INVITABLE_ROLES, 'The role');
    return { name: 'invite', invitee: email ? { email } : { slackUserId: slackUserId! }, role };
  },
  handle: async (command, { deps, caller }) => {
    const invitation = await deps.services.invitations.invite(caller.actor, {
      ...command.invitee,
      role: command.role,
    });
    return { text: invitedText(invitation) };
  },
  changesTeamPage: true,
};

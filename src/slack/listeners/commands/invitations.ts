import { invitationListBlocks, invitedText, revokedText } from '../../presenters/invitations.ts';
import type { SubcommandHandler } from './subcommand.ts';

export const inviteMember: SubcommandHandler<'invite'> = async (command, { deps, caller }) => {
  const invitation = await deps.services.invitations.invite(caller.actor, {
    ...command.invitee,
    role: command.role,
  });
  return { text: invitedText(invitation) };
};

export const listInvitations: SubcommandHandler<'invitations'> = async (_command, { deps, caller }) => {
  const invitations = await deps.services.invitations.list(caller.actor);
  return { text: `${invitations.length} pending invitations`, blocks: invitationListBlocks(invitations) };
};

export const revokeInvitation: SubcommandHandler<'revoke'> = async (command, { deps, caller }) => {
  const invitation = await deps.services.invitations.revoke(caller.actor, command.invitation);
  return { text: revokedText(invitation) };
};

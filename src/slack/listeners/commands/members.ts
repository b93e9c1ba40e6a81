import { callerTeamView } from '../../context.ts';
import {
  apiKeyOnceBlocks,
  apiKeyOnceText,
  LIST_PAGE_SIZE,
  memberCardBlocks,
  memberListBlocks,
} from '../../presenters/members.ts';
import { deleteConfirmationBlocks, linkedText, statusChangedText } from '../../presenters/replies.ts';
import type { SubcommandHandler } from './subcommand.ts';

export const listMembers: SubcommandHandler<'list'> = async (command, { deps, caller }) => {
  const [team, page] = await Promise.all([
    callerTeamView(deps, caller),
    deps.services.members.list(caller.actor, {
      status: command.status ?? null,
      page: 1,
      limit: LIST_PAGE_SIZE,
    }),
  ]);
  return {
    text: `${page.total} members of ${team.name}`,
    blocks: memberListBlocks(team, page, command.status),
  };
};

export const showMember: SubcommandHandler<'show'> = async (command, { deps, caller }) => {
  const [team, member] = await Promise.all([
    callerTeamView(deps, caller),
    deps.services.members.show(caller.actor, command.member),
  ]);
  return { text: `${member.name} (#${member.id})`, blocks: memberCardBlocks(member, team) };
};

export const createMember: SubcommandHandler<'create'> = async (command, { deps, caller }) => {
  const { member, apiKey } = await deps.services.members.create(caller.actor, {
    name: command.memberName,
    email: command.email ?? null,
  });
  return { text: apiKeyOnceText(member, apiKey), blocks: apiKeyOnceBlocks(member, apiKey, 'Created') };
};

export const enableMember: SubcommandHandler<'enable'> = async (command, { deps, caller }) => {
  const member = await deps.services.members.enable(caller.actor, command.member);
  return { text: statusChangedText(member) };
};

export const disableMember: SubcommandHandler<'disable'> = async (command, { deps, caller }) => {
  const member = await deps.services.members.disable(caller.actor, command.member);
  return { text: statusChangedText(member) };
};

export const rotateKey: SubcommandHandler<'key'> = async (command, { deps, caller }) => {
  const { member, apiKey } = await deps.services.members.rotateKey(caller.actor, command.member);
  return {
    text: apiKeyOnceText(member, apiKey),
    blocks: apiKeyOnceBlocks(member, apiKey, 'Issued a new key (the old one no longer works) for'),
  };
};

export const linkMember: SubcommandHandler<'link'> = async (command, { deps, caller }) => {
  const member = await deps.services.members.link(caller.actor, command.member, command.slackUserId);
  return { text: linkedText(member) };
};

/** Only asks: the Delete button on the reply is what closes the member (actions/delete-member.ts). */
export const askToDeleteMember: SubcommandHandler<'delete'> = async (command, { deps, caller }) => {
  const [team, member] = await Promise.all([
    callerTeamView(deps, caller),
    deps.services.members.show(caller.actor, command.member),
  ]);
  return { text: `Delete ${member.name}?`, blocks: deleteConfirmationBlocks(member, team.currency) };
};

import { statusChangedText } from '../presenters/replies.ts';
import type { CommandOf, CommandRequest, Reply } from './spec.ts';

/** `/team enable` and `/team disable` differ only in the status they ask the member service for. */
export async function setMemberStatus(
  command: CommandOf<'enable' | 'disable'>,
  { deps, caller }: CommandRequest,
): Promise<Reply> {
  const member = await deps.services.members[command.name](caller.actor, command.member);
  return { text: statusChangedText(member) };
}

import { MEMBER_STATUSES } from '../../members/member.entity.ts';
import { callerTeamView } from '../context.ts';
import { oneOf } from '../parse/words.ts';
import { LIST_PAGE_SIZE, memberListBlocks } from '../presenters/members.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

export const list: SubcommandSpec<'list'> = {
  usage: '/team list [active|inactive|invited|closed]',
  summary: 'members with email, masked key, balance and status',
  shownTo: MANAGERS,
  parse(words) {
    const status = words.takeOptional();
    words.end();
    return status === undefined
      ? { name: 'list' }
      : { name: 'list', status: oneOf(status, MEMBER_STATUSES, 'The status') };
  },
  handle: async (command, { deps, caller }) => {
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
  },
  changesTeamPage: false,
};

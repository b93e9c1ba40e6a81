import { parseMemberRef, parseSlackUser } from '../parse/references.ts';
import { linkedText } from '../presenters/replies.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

export const link: SubcommandSpec<'link'> = {
  usage: '/team link <member> <@slack user>',
  summary: 'connect a Slack user to a member',
  shownTo: MANAGERS,
  parse(words) {
    const member = parseMemberRef(words.take('The member'));
    const slackUserId = parseSlackUser(words.take('The @slack user'));
    words.end();
    return { name: 'link', member, slackUserId };
  },
  handle: async (command, { deps, caller }) => {
    const member = await deps.services.members.link(caller.actor, command.member, command.slackUserId);
    return { text: linkedText(member) };
  },
  changesTeamPage: true,
};

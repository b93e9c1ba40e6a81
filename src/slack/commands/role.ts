import type { WebClient } from '@slack/web-api';
import type { RoleChangeView } from '../../approvals/approval.service.ts';
import { ROLES } from '../../members/member.entity.ts';
import type { SlackDeps } from '../context.ts';
import { parseMemberRef } from '../parse/references.ts';
import { oneOf } from '../parse/words.ts';
import { approvalBlocks, approvalText } from '../presenters/approvals.ts';
import { directMessage } from '../support/direct-message.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

/**
 * Posts the request with Approve / Deny where the command was typed, mentioning who may decide.
 * Where the app cannot post (a private conversation it is not in), the first approver gets it
 * as a direct message instead. The message is remembered so the decision can update it in place.
 */
export const role: SubcommandSpec<'role'> = {
  usage: '/team role <member> <owner|admin|user>',
  summary: 'ask for a role change; an owner or admin approves it',
  shownTo: MANAGERS,
  parse(words) {
    const member = parseMemberRef(words.take('The member'));
    const role = oneOf(words.take('The role'), ROLES, 'The role');
    words.end();
    return { name: 'role', member, role };
  },
  handle: async (command, { deps, caller, client, body }) => {
    const { approvals } = deps.services;
    const request = await approvals.request(caller.actor, { member: command.member, role: command.role });
    const approvers = (await approvals.approvers(caller.actor, request.id)).flatMap((member) =>
      member.slackUserId ? [member.slackUserId] : [],
    );
    const posted = await postApproval(deps, client, body.channel_id, request, approvers);
    if (!posted) {
      return {
        text: `Request #${request.id} is recorded, but no owner or admin could be reached in Slack. They can approve it once linked with \`/team link\`.`,
      };
    }
    await approvals.recordSlackMessage(request.id, posted.channel, posted.ts);
    const where = posted.channel === body.channel_id ? 'here' : 'to an approver by direct message';
    return {
      text: `Request #${request.id} to make ${request.memberName} ${request.toRole} was posted ${where} for approval.`,
    };
  },
  changesTeamPage: false,
};

async function postApproval(
  deps: SlackDeps,
  client: WebClient,
  channel: string,
  request: RoleChangeView,
  approvers: string[],
): Promise<{ channel: string; ts: string } | undefined> {
  const text = approvalText(request);
  const blocks = approvalBlocks(request, approvers);
  try {
    const posted = await client.chat.postMessage({ channel, text, blocks });
    if (posted.ts) return { channel, ts: posted.ts };
  } catch (error) {
    deps.logger.info(
      { err: error, channel },
      'approval request not postable here; sending it to an approver',
    );
  }
  const first = approvers[0];
  return first ? directMessage(deps, client, first, text, blocks) : undefined;
}

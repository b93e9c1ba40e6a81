import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { TeamopsContext } from '../../context.ts';
import { ACTIONS } from '../../ids.ts';
import { approvalBlocks, approvalText, decisionNotice } from '../../presenters/approvals.ts';
import { directMessage } from '../../support/direct-message.ts';
import { clickCaller, explainClickFailure } from '../../support/interaction.ts';

type Args = AllMiddlewareArgs<TeamopsContext> & SlackActionMiddlewareArgs<BlockAction<ButtonAction>>;

/**
 * Approve or Deny on a role change request. The service decides who may click and makes a
 * second decision a no-op; here the message is replaced in place by the outcome, and the
 * requester and the member are told once, when it actually changed.
 */
export async function decideRoleChange({ ack, body, action, client, respond, context }: Args): Promise<void> {
  await ack();
  const deps = context.teamops;
  const requestId = Number(action.value);
  try {
    const caller = await clickCaller(deps, client, body);
    const decide = action.action_id === ACTIONS.approveRole ? 'approve' : 'deny';
    const { request, changed } = await deps.services.approvals[decide](caller.actor, requestId);

    const text = approvalText(request);
    const blocks = approvalBlocks(request);
    const messages = new Map<string, { channel: string; ts: string }>();
    const clicked = {
      channel: String(body.container.channel_id ?? ''),
      ts: String(body.container.message_ts ?? ''),
    };
    if (clicked.channel && clicked.ts) messages.set(`${clicked.channel}/${clicked.ts}`, clicked);
    if (request.slackChannel && request.slackTs)
      messages.set(`${request.slackChannel}/${request.slackTs}`, {
        channel: request.slackChannel,
        ts: request.slackTs,
      });
    for (const { channel, ts } of messages.values()) await client.chat.update({ channel, ts, text, blocks });

    if (!changed) {
      await respond({
        response_type: 'ephemeral',
        replace_original: false,
        text: `Request #${request.id} was already ${request.status}${request.decidedByName ? ` by ${request.decidedByName}` : ''}; nothing changed.`,
      });
      return;
    }
    const told = new Set([caller.slackUserId]);
    for (const [slackUserId, audience] of [
      [request.requestedBySlackUserId, 'requester'],
      [request.memberSlackUserId, 'member'],
    ] as const) {
      if (!slackUserId || told.has(slackUserId)) continue;
      told.add(slackUserId);
      await directMessage(deps, client, slackUserId, decisionNotice(request, audience));
    }
  } catch (error) {
    await explainClickFailure(deps, client, body, respond, error);
  }
}

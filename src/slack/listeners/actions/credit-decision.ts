import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { TeamopsContext } from '../../context.ts';
import { ACTIONS } from '../../ids.ts';
import { creditRequestAlreadyDecided } from '../../presenters/credit-requests.ts';
import { clickCaller, explainClickFailure } from '../../support/interaction.ts';

type Args = AllMiddlewareArgs<TeamopsContext> & SlackActionMiddlewareArgs<BlockAction<ButtonAction>>;

/**
 * Approve or Deny on a credit request. The service decides who may click, credits the member
 * once and asks (through the outbox) for every copy of the message to show the outcome and for
 * the requester's direct message; here only the clicker is told when the click changed nothing
 * or was refused.
 */
export async function decideCreditRequest({
  ack,
  body,
  action,
  client,
  respond,
  context,
}: Args): Promise<void> {
  await ack();
  const deps = context.teamops;
  try {
    const caller = await clickCaller(deps, client, body);
    const decide = action.action_id === ACTIONS.approveCredit ? 'approve' : 'deny';
    const { request, changed } = await deps.services.creditRequests[decide](caller.actor, action.value);
    if (changed) return;
    await respond({
      response_type: 'ephemeral',
      replace_original: false,
      text: creditRequestAlreadyDecided(request),
    });
  } catch (error) {
    await explainClickFailure(deps, client, body, respond, error);
  }
}

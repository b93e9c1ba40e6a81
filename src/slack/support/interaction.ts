import type { BlockAction, RespondFn } from '@slack/bolt';
import type { ModalView } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import { isDomainError } from '../../shared/errors.ts';
import { identifyCaller, type SlackCaller, type SlackDeps } from '../context.ts';
import { section } from '../presenters/blocks.ts';
import { resultModal } from '../presenters/modals.ts';
import { errorText } from '../presenters/replies.ts';

export function slackTeamOf(body: { team: { id: string } | null; user: { team_id?: string } }): string {
  return body.team?.id ?? body.user.team_id ?? '';
}

export function clickCaller(deps: SlackDeps, client: WebClient, body: BlockAction): Promise<SlackCaller> {
  return identifyCaller(deps, client, slackTeamOf(body), body.user.id);
}

/** Opens a modal from a click: on top of the modal clicked in, or on its own from a message or App Home. */
export async function openFromClick(client: WebClient, body: BlockAction, view: ModalView): Promise<void> {
  if (body.view?.type === 'modal') await client.views.push({ trigger_id: body.trigger_id, view });
  else await client.views.open({ trigger_id: body.trigger_id, view });
}

/**
 * Tells only the person who clicked why nothing happened: an ephemeral reply under a message,
 * a small modal on App Home or in a modal (which have no place for a reply).
 */
export async function explainClickFailure(
  deps: SlackDeps,
  client: WebClient,
  body: BlockAction,
  respond: RespondFn,
  error: unknown,
): Promise<void> {
  if (!isDomainError(error)) deps.logger.error({ err: error, user: body.user.id }, 'Slack action failed');
  try {
    if (body.container.type === 'message' && body.response_url) {
      await respond({ response_type: 'ephemeral', replace_original: false, text: errorText(error) });
    } else {
      await openFromClick(client, body, resultModal('Not done', [section(errorText(error))]));
    }
  } catch (replyError) {
    deps.logger.warn({ err: replyError }, 'could not tell the user why their click failed');
  }
}

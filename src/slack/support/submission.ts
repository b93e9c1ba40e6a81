import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { ModalView } from '@slack/types';
import { isDomainError } from '../../shared/errors.ts';
import { identifyCaller, type SlackCaller, type TeamopsContext } from '../context.ts';
import { UsageError } from '../parse/references.ts';
import { refreshHome } from './app-home.ts';
import { slackTeamOf } from './interaction.ts';
import type { FieldErrors, ViewValues } from './view-input.ts';

export type SubmissionArgs = AllMiddlewareArgs<TeamopsContext> & SlackViewMiddlewareArgs<ViewSubmitAction>;

export interface SubmissionOutcome {
  /** Replaces the modal (an outcome to read); without it the modal closes. */
  view?: ModalView;
  /** Whether the team page changed and the submitter's App Home should be refreshed. */
  changedTeamPage: boolean;
}

/**
 * A modal submission must be answered in its ack: the work runs first (services answer in
 * milliseconds) so a refusal can be shown on the field it is about (`response_action: errors`).
 */
export async function handleSubmission(
  { ack, body, view, client, context }: SubmissionArgs,
  work: (caller: SlackCaller, values: ViewValues) => Promise<SubmissionOutcome>,
  placeError: (error: unknown) => FieldErrors | ModalView,
): Promise<void> {
  const deps = context.teamops;
  let caller: SlackCaller;
  let outcome: SubmissionOutcome;
  try {
    caller = await identifyCaller(deps, client, slackTeamOf(body), body.user.id);
    outcome = await work(caller, view.state.values);
  } catch (error) {
    if (!isDomainError(error) && !(error instanceof UsageError)) {
      deps.logger.error(
        { err: error, callbackId: view.callback_id, user: body.user.id },
        'modal submission failed',
      );
    }
    const placed = placeError(error);
    await ack(
      isModal(placed)
        ? { response_action: 'update', view: placed }
        : { response_action: 'errors', errors: placed },
    );
    return;
  }
  await ack(outcome.view ? { response_action: 'update', view: outcome.view } : undefined);
  if (outcome.changedTeamPage) refreshHome(deps, client, caller);
}

function isModal(placed: FieldErrors | ModalView): placed is ModalView {
  return placed.type === 'modal' && typeof placed.blocks === 'object';
}

import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { Services } from '../../../app.ts';
import { isDomainError } from '../../../shared/errors.ts';
import { slackProfile, type TeamopsContext } from '../../context.ts';
import {
  INVITATION_DM_ACTIONS,
  type InvitationDmAnswer,
  invitationDmAccepted,
  invitationDmDeclined,
  invitationDmNotice,
} from '../../presenters/invitation-dm.ts';
import { explainClickFailure } from '../../support/interaction.ts';

type Args = AllMiddlewareArgs<TeamopsContext> & SlackActionMiddlewareArgs<BlockAction<ButtonAction>>;

/**
 * Accept or Decline in the direct message of an invitation by mention. The button carries the
 * invitation token, so this is the same as opening the emailed link; the new key is shown once,
 * to the clicker only.
 */
export async function answerInvitation({ ack, body, action, client, respond, context }: Args): Promise<void> {
  await ack();
  const deps = context.teamops;
  try {
    const accept = action.action_id === INVITATION_DM_ACTIONS.accept;
    const profile = accept ? await slackProfile(client, body.user.id, deps) : undefined;
    const answer = await answerInvitationDm(deps.services, {
      action: accept ? 'accept' : 'decline',
      token: action.value ?? '',
      displayName: profile?.name ?? body.user.name ?? body.user.username,
    });
    await respond({ replace_original: true, ...answer.replace });
    if (answer.shownOnce) {
      await respond({ response_type: 'ephemeral', replace_original: false, ...answer.shownOnce });
    }
  } catch (error) {
    await explainClickFailure(deps, client, body, respond, error);
  }
}

/** What a click on Accept or Decline does. `displayName` is the clicking Slack user's name. */
export async function answerInvitationDm(
  services: Pick<Services, 'invitations'>,
  input: { action: 'accept' | 'decline'; token: string; displayName: string },
): Promise<InvitationDmAnswer> {
  try {
    if (input.action === 'decline') {
      const declined = await services.invitations.decline(input.token, 'slack');
      return invitationDmDeclined(declined.teamName);
    }
    const accepted = await services.invitations.accept(input.token, {
      name: input.displayName,
      via: 'slack',
    });
    return invitationDmAccepted(accepted.invitation.teamName, accepted.member.name, accepted.apiKey);
  } catch (error) {
    if (!isDomainError(error)) throw error;
    // Used, revoked or expired: the buttons go away and nothing else changes.
    return invitationDmNotice(error.message);
  }
}

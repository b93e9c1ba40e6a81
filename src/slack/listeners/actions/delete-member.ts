import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { TeamopsContext } from '../../context.ts';
import { closedText } from '../../presenters/replies.ts';
import { refreshHome } from '../../support/app-home.ts';
import { clickCaller, explainClickFailure } from '../../support/interaction.ts';

type Args = AllMiddlewareArgs<TeamopsContext> & SlackActionMiddlewareArgs<BlockAction<ButtonAction>>;

/** The Delete button under `/team delete`'s question: the one step that closes the member. */
export async function confirmDeleteMember({
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
    const { member, returned } = await deps.services.members.close(caller.actor, {
      id: Number(action.value),
    });
    const team = await deps.services.teams.get(caller.actor);
    await respond({ replace_original: true, text: closedText(member, returned, team.currency) });
    refreshHome(deps, client, caller);
  } catch (error) {
    await explainClickFailure(deps, client, body, respond, error);
  }
}

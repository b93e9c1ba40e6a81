import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { TeamopsContext } from '../../context.ts';
import { moneyModal } from '../../presenters/modals.ts';
import { clickCaller, explainClickFailure, openFromClick } from '../../support/interaction.ts';

type Args = AllMiddlewareArgs<TeamopsContext> & SlackActionMiddlewareArgs<BlockAction<ButtonAction>>;

/** "Top up" on a low-balance alert (its value is the member id): the credit modal for that member. */
export async function topUpFromAlert({ ack, body, action, client, respond, context }: Args): Promise<void> {
  await ack();
  const deps = context.teamops;
  try {
    const caller = await clickCaller(deps, client, body);
    const [team, member] = await Promise.all([
      deps.services.teams.get(caller.actor),
      deps.services.members.show(caller.actor, { id: Number(action.value) }),
    ]);
    await openFromClick(client, body, moneyModal('credit', team, member));
  } catch (error) {
    await explainClickFailure(deps, client, body, respond, error);
  }
}

import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { TeamopsContext } from '../../context.ts';
import type { PageState } from '../../presenters/members.ts';
import { publishHome } from '../../support/app-home.ts';
import { clickCaller, explainClickFailure } from '../../support/interaction.ts';
import { metadata } from '../../support/view-input.ts';

type Args = AllMiddlewareArgs<TeamopsContext> & SlackActionMiddlewareArgs<BlockAction<ButtonAction>>;

/** Previous / Next / Refresh on the team page. Refresh carries the page number, the pager a PageState. */
export async function showHomePage({ ack, body, action, client, respond, context }: Args): Promise<void> {
  await ack();
  const deps = context.teamops;
  try {
    const caller = await clickCaller(deps, client, body);
    const page = /^\d+$/.test(action.value ?? '')
      ? Number(action.value)
      : Number(metadata<PageState>(action.value).page);
    await publishHome(deps, client, caller, page > 0 ? page : 1);
  } catch (error) {
    await explainClickFailure(deps, client, body, respond, error);
  }
}

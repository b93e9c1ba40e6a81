import type { AllMiddlewareArgs, BlockAction, ButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { TeamopsContext } from '../../context.ts';
import { LIST_PAGE_SIZE, memberListBlocks, type PageState } from '../../presenters/members.ts';
import { clickCaller, explainClickFailure } from '../../support/interaction.ts';
import { metadata } from '../../support/view-input.ts';

type Args = AllMiddlewareArgs<TeamopsContext> & SlackActionMiddlewareArgs<BlockAction<ButtonAction>>;

/** Previous / Next under `/team list`: the same message shows the other page. */
export async function memberListPage({ ack, body, action, client, respond, context }: Args): Promise<void> {
  await ack();
  const deps = context.teamops;
  try {
    const caller = await clickCaller(deps, client, body);
    const state = metadata<PageState>(action.value);
    const [team, page] = await Promise.all([
      deps.services.teams.get(caller.actor),
      deps.services.members.list(caller.actor, {
        status: state.status ?? null,
        page: Number(state.page) || 1,
        limit: LIST_PAGE_SIZE,
      }),
    ]);
    await respond({
      replace_original: true,
      text: `${page.total} members of ${team.name}`,
      blocks: memberListBlocks(team, page, state.status),
    });
  } catch (error) {
    await explainClickFailure(deps, client, body, respond, error);
  }
}

import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { TeamopsContext } from '../../context.ts';
import { publishHomeFor } from '../../support/app-home.ts';

type Args = AllMiddlewareArgs<TeamopsContext> & SlackEventMiddlewareArgs<'app_home_opened'>;

/** The team page is built when it is looked at, so it is never staler than the last open. */
export async function appHomeOpened({ event, body, client, context }: Args): Promise<void> {
  if (event.tab !== 'home') return;
  const deps = context.teamops;
  try {
    await publishHomeFor(deps, client, body.team_id, event.user);
  } catch (error) {
    deps.logger.error({ err: error, user: event.user }, 'could not publish App Home');
  }
}

import type { WebClient } from '@slack/web-api';
import { UnauthenticatedError } from '../../shared/errors.ts';
import { setup } from '../commands/setup.ts';
import { identifyCaller, type SlackCaller, type SlackDeps } from '../context.ts';
import { HOME_PAGE_SIZE, outsiderHomeView, teamHomeView } from '../presenters/home.ts';

/** Publishes the team page on the caller's Home tab, at the page asked for. */
export async function publishHome(
  deps: SlackDeps,
  client: WebClient,
  caller: SlackCaller,
  page = 1,
): Promise<void> {
  const { services } = deps;
  const [team, members, chart] = await Promise.all([
    services.teams.get(caller.actor),
    services.members.list(caller.actor, { page, limit: HOME_PAGE_SIZE }),
    services.charts.latest(caller.actor),
  ]);
  // A page that emptied (members closed meanwhile) shows the last one that has members.
  const lastPage = Math.max(1, Math.ceil(members.total / members.limit));
  const shown =
    members.items.length === 0 && page > lastPage
      ? await services.members.list(caller.actor, { page: lastPage, limit: HOME_PAGE_SIZE })
      : members;
  const limits = await services.spendingLimits.ofMembers(caller.actor, [
    caller.member.id,
    ...shown.items.map((m) => m.id),
  ]);
  await client.views.publish({
    user_id: caller.slackUserId,
    view: teamHomeView(team, caller.member, shown, chart, limits),
  });
}

/** App Home for whoever opened it: the team page for a member, how to join for anyone else. */
export async function publishHomeFor(
  deps: SlackDeps,
  client: WebClient,
  slackTeamId: string,
  slackUserId: string,
  page = 1,
): Promise<void> {
  let caller: SlackCaller;
  try {
    caller = await identifyCaller(deps, client, slackTeamId, slackUserId);
  } catch (error) {
    if (!(error instanceof UnauthenticatedError)) throw error;
    const team = await deps.services.teams.getBySlackTeam(slackTeamId);
    await client.views.publish({
      user_id: slackUserId,
      view: outsiderHomeView(team?.name ?? null, setup.usage),
    });
    return;
  }
  await publishHome(deps, client, caller, page);
}

/** The least time between two refreshes of one person's team page. */
const REFRESH_INTERVAL_MS = 1_000;

interface PendingRefresh {
  caller: SlackCaller;
  again: boolean;
  done: Promise<void>;
}

/** Refreshes in flight or waiting, per Slack app and per person. */
const refreshing = new WeakMap<SlackDeps, Map<string, PendingRefresh>>();

/**
 * After a change made in Slack, the caller's team page shows it — within a second, not at once:
 * changes in quick succession share refreshes. While one is being built, later ones only ask for
 * one more, built when it is done and at least REFRESH_INTERVAL_MS after it began, with the
 * newest state. So an admin scripting a hundred credits a second costs one rebuild a second, not
 * a hundred (Slack also limits views.publish), and the work after each command's ack does not
 * wait for a page: it schedules it. Failing to refresh must not turn a change that succeeded into
 * an error, so this only logs. `refreshesSettled` waits for what was scheduled.
 */
export function refreshHome(deps: SlackDeps, client: WebClient, caller: SlackCaller): void {
  let perApp = refreshing.get(deps);
  if (!perApp) {
    perApp = new Map();
    refreshing.set(deps, perApp);
  }
  const key = `${caller.slackTeamId}/${caller.slackUserId}`;
  const pending = perApp.get(key);
  if (pending) {
    pending.caller = caller;
    pending.again = true;
    return;
  }
  const entry = { caller, again: false } as PendingRefresh;
  const table = perApp;
  entry.done = (async () => {
    try {
      let startedAt = 0;
      do {
        if (entry.again) {
          const wait = startedAt + REFRESH_INTERVAL_MS - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        }
        entry.again = false;
        startedAt = performance.now();
        try {
          await publishHome(deps, client, entry.caller);
        } catch (error) {
          deps.logger.warn({ err: error, slackUserId: caller.slackUserId }, 'could not refresh App Home');
        }
      } while (entry.again);
    } finally {
      table.delete(key);
    }
  })();
  table.set(key, entry);
}

/** Resolves once every refresh scheduled so far has been published (or has failed and been logged). */
export async function refreshesSettled(deps: SlackDeps): Promise<void> {
  for (;;) {
    const pending = [...(refreshing.get(deps)?.values() ?? [])];
    if (pending.length === 0) return;
    await Promise.all(pending.map((entry) => entry.done));
  }
}

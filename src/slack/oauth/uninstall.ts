import type { App } from '@slack/bolt';
import type { TeamopsContext } from '../context.ts';
import type { SlackInstallationStore } from './installation-store.ts';

/**
 * app_uninstalled and tokens_revoked (bot tokens) pause Slack for the workspace: its
 * installation loses its tokens, so posts for its team end unsent, while the team, its data
 * and its API keys stay. Installing again resumes. Bolt runs these without `authorize`.
 */
export function registerUninstallListeners(
  app: App<TeamopsContext>,
  installations: SlackInstallationStore,
): void {
  app.event('app_uninstalled', async ({ context }) => {
    await installations.uninstall(lookupOf(context));
  });
  app.event('tokens_revoked', async ({ event, context }) => {
    if ((event.tokens.bot ?? []).length === 0) return;
    await installations.uninstall(lookupOf(context));
  });
}

function lookupOf(context: { teamId?: string; enterpriseId?: string; isEnterpriseInstall?: boolean }) {
  return {
    teamId: context.teamId,
    enterpriseId: context.enterpriseId,
    isEnterpriseInstall: context.isEnterpriseInstall === true,
  };
}

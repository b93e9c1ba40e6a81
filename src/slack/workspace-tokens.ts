import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Orm } from '../platform/database.ts';
import { queryOne } from '../platform/sql.ts';
import { TokenCipher } from '../shared/token-crypto.ts';
import { SlackInstallationStore } from './oauth/installation-store.ts';

/**
 * Which token a Slack call made for a team uses. Workers ask this for the team a job serves
 * (a job names its team, never a token); listeners get the same tokens through Bolt's
 * `authorize` (slack/index.ts).
 */
export interface WorkspaceTokens {
  /**
   * The bot token for the team's workspace, and the workspace its Slack rate limits count
   * under; undefined when the app is not installed there (never installed, or uninstalled).
   */
  forTeam(teamId: number): Promise<{ token: string; workspace: string } | undefined>;
}

/** In single-workspace mode every team's calls use SLACK_BOT_TOKEN: one workspace, one rate limit. */
export const SINGLE_WORKSPACE = 'bot-token';

export function createWorkspaceTokens(
  config: Pick<Config, 'slack'>,
  installations: SlackInstallationStore | undefined,
  orm: Orm,
): WorkspaceTokens | undefined {
  const botToken = config.slack?.botToken;
  if (botToken) return { forTeam: async () => ({ token: botToken, workspace: SINGLE_WORKSPACE }) };
  if (!installations) return undefined;
  return {
    async forTeam(teamId) {
      const team = await queryOne<{ slack_team_id: string | null }>(
        orm.em.fork(),
        'select slack_team_id from teams where id = ?',
        [teamId],
      );
      if (!team?.slack_team_id) return undefined;
      const bot = await installations.botFor({ teamId: team.slack_team_id });
      return bot && { token: bot.token, workspace: `installation:${bot.installationId}` };
    },
  };
}

/** The installation store of multi-workspace mode; undefined in single-workspace mode or without Slack. */
export function createInstallationStore(
  config: Pick<Config, 'slack' | 'tokenEncryption'>,
  orm: Orm,
  logger: Logger,
  options: { refreshMarginMs?: number } = {},
): SlackInstallationStore | undefined {
  const slack = config.slack;
  if (!slack?.oauth || !config.tokenEncryption) return undefined;
  return new SlackInstallationStore(orm, {
    oauth: slack.oauth,
    apiUrl: slack.apiUrl.endsWith('/') ? slack.apiUrl : `${slack.apiUrl}/`,
    cipher: new TokenCipher(config.tokenEncryption),
    logger,
    ...options,
  });
}

import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/**
 * The app installed in one Slack workspace, or org-wide in an Enterprise Grid org, through
 * /slack/install (multi-workspace mode). Tokens are only ever stored sealed (see
 * shared/token-crypto.ts), each with the id of the key that sealed it. An uninstall keeps the
 * row without its tokens, so a reinstall picks the same workspace up again.
 */
export const SlackInstallation = defineEntity({
  name: 'SlackInstallation',
  tableName: 'slack_installations',
  properties: {
    id: p.integer().primary().autoincrement(),
    /** `team:T…` for a workspace install, `org:E…` for an org-wide one: what a lookup asks for. */
    installKey: p.string().length(80).unique(),
    slackTeamId: p.string().length(32).nullable(),
    teamName: p.string().length(200).nullable(),
    enterpriseId: p.string().length(32).nullable(),
    enterpriseName: p.string().length(200).nullable(),
    enterpriseUrl: p.string().length(300).nullable(),
    isEnterpriseInstall: p.boolean().default(false),
    appId: p.string().length(32).nullable(),
    botId: p.string().length(32).nullable(),
    botUserId: p.string().length(32).nullable(),
    /** Comma-separated, as Slack grants them. */
    botScopes: p.text(),
    botTokenSealed: p.text().nullable(),
    botTokenKeyId: p.string().length(16).nullable(),
    /** With token rotation: the refresh token and when the bot token expires. */
    botRefreshTokenSealed: p.text().nullable(),
    botRefreshTokenKeyId: p.string().length(16).nullable(),
    botTokenExpiresAt: p.datetime().nullable(),
    installerUserId: p.string().length(32).nullable(),
    installedAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    /** Set by app_uninstalled / tokens_revoked: Slack features pause; the team and its API keys stay. */
    uninstalledAt: p.datetime().nullable(),
  },
});
export type ISlackInstallation = InferEntity<typeof SlackInstallation>;

/**
 * Workspaces an org-wide installation has served, learnt from the requests it authorized: a
 * worker that knows only a team's workspace finds the org's token through this.
 */
export const SlackInstallationWorkspace = defineEntity({
  name: 'SlackInstallationWorkspace',
  tableName: 'slack_installation_workspaces',
  properties: {
    slackTeamId: p.string().length(32).primary(),
    installation: () => p.manyToOne(SlackInstallation).deleteRule('cascade'),
  },
});

/**
 * An OAuth state handed out by /slack/install, by its hash. Deleted when used, so each works
 * once even within its lifetime.
 */
export const SlackOAuthState = defineEntity({
  name: 'SlackOAuthState',
  tableName: 'slack_oauth_states',
  properties: {
    stateHash: p.string().length(64).primary(),
    installOptions: p.json<Record<string, unknown>>(),
    expiresAt: p.datetime(),
  },
});

/**
 * A workspace Slack answered 429 for: its posts wait until `until`, then go one per slot from
 * `nextSlot` on (slack/workspace-rate-limits.ts); other workspaces' posts do not wait.
 */
export const SlackRateLimit = defineEntity({
  name: 'SlackRateLimit',
  tableName: 'slack_rate_limits',
  properties: {
    /** `installation:<id>`, or `bot-token` in single-workspace mode. */
    workspace: p.string().length(64).primary(),
    until: p.datetime(),
    nextSlot: p.datetime(),
  },
});

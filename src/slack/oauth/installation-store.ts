import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Installation, InstallationQuery, InstallationStore } from '@slack/oauth';
import { WebClient } from '@slack/web-api';
import type { SlackOAuthConfig } from '../../config.ts';
import type { Logger } from '../../logger.ts';
import type { Orm } from '../../platform/database.ts';
import { queryOne, run } from '../../platform/sql.ts';
import type { Sealed, TokenCipher } from '../../shared/token-crypto.ts';
import { type ISlackInstallation, SlackInstallation } from '../installation.entity.ts';

/**
 * The installations of the app (multi-workspace mode), on MikroORM: what @slack/oauth's
 * InstallProvider stores after the OAuth exchange, and where Bolt's `authorize` and the
 * workers find each workspace's bot token. Tokens are sealed before they reach the database.
 *
 * Token rotation: a bot token that expires within `refreshMarginMs` is refreshed with
 * oauth.v2.access before it is handed out. The refresh holds the installation's row lock, so
 * however many requests and processes ask at once, one refreshes and the others read what it
 * stored; a process that starts later reads the stored token and refreshes nothing.
 */

/** A workspace's bot, as a Slack call needs it. */
export interface WorkspaceBot {
  installationId: number;
  token: string;
  botId: string | undefined;
  botUserId: string | undefined;
  teamId: string | undefined;
  enterpriseId: string | undefined;
}

export interface InstallationLookup {
  teamId?: string | undefined;
  enterpriseId?: string | undefined;
  isEnterpriseInstall?: boolean;
}

/** Slack refreshes a rotating token this long before it expires (tokens live 12 hours). */
export const DEFAULT_REFRESH_MARGIN_MS = 10 * 60_000;

const BOT_TOKEN = 'slack-bot-token';
const REFRESH_TOKEN = 'slack-refresh-token';

interface StoreOptions {
  oauth: Pick<SlackOAuthConfig, 'clientId' | 'clientSecret'>;
  apiUrl: string;
  cipher: TokenCipher;
  logger: Logger;
  refreshMarginMs?: number;
  now?: () => Date;
}

export class SlackInstallationStore implements InstallationStore {
  readonly #orm: Orm;
  readonly #options: StoreOptions;
  readonly #client: WebClient;
  readonly #log: Logger;
  /** Refreshes under way in this process, so concurrent callers wait on one instead of queuing for the row lock. */
  readonly #refreshing = new Map<number, Promise<string>>();
  /** Workspace → org installation links already recorded by this process. */
  readonly #linked = new Set<string>();

  constructor(orm: Orm, options: StoreOptions) {
    this.#orm = orm;
    this.#options = options;
    this.#log = options.logger.child({ component: 'slack-installations' });
    this.#client = new WebClient(undefined, {
      slackApiUrl: options.apiUrl,
      retryConfig: { retries: 2 },
      timeout: 10_000,
    });
  }

  #now(): Date {
    return this.#options.now?.() ?? new Date();
  }

  /** Called by InstallProvider after a successful oauth.v2.access exchange; a reinstall resumes the row. */
  async storeInstallation<V extends 'v1' | 'v2'>(installation: Installation<V, boolean>): Promise<void> {
    const bot = installation.bot;
    if (!bot) throw new Error('the installation has no bot token: the app asks for bot scopes only');
    const enterpriseInstall = installation.isEnterpriseInstall === true;
    const installKey = enterpriseInstall
      ? `org:${installation.enterprise!.id}`
      : `team:${installation.team!.id}`;
    const { cipher } = this.#options;
    const token = cipher.seal(bot.token, BOT_TOKEN);
    const refresh = bot.refreshToken ? cipher.seal(bot.refreshToken, REFRESH_TOKEN) : undefined;
    const values = {
      slackTeamId: enterpriseInstall ? null : (installation.team?.id ?? null),
      teamName: installation.team?.name ?? null,
      enterpriseId: installation.enterprise?.id ?? null,
      enterpriseName: installation.enterprise?.name ?? null,
      enterpriseUrl: installation.enterpriseUrl ?? null,
      isEnterpriseInstall: enterpriseInstall,
      appId: installation.appId ?? null,
      botId: bot.id ?? null,
      botUserId: bot.userId ?? null,
      botScopes: bot.scopes.join(','),
      botTokenSealed: token.ciphertext,
      botTokenKeyId: token.keyId,
      botRefreshTokenSealed: refresh?.ciphertext ?? null,
      botRefreshTokenKeyId: refresh?.keyId ?? null,
      botTokenExpiresAt: bot.expiresAt ? new Date(bot.expiresAt * 1000) : null,
      installerUserId: installation.user?.id ?? null,
      uninstalledAt: null,
    };
    await this.#orm.em.fork().transactional(async (tx) => {
      const existing = await tx.findOne(
        SlackInstallation,
        { installKey },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (existing) {
        tx.assign(existing, { ...values, installedAt: this.#now() });
      } else {
        tx.create(SlackInstallation, { installKey, ...values });
      }
    });
    this.#log.info(
      { installKey, scopes: values.botScopes, rotating: refresh !== undefined },
      existingLabel(installation),
    );
  }

  /** InstallationStore's read, for @slack/oauth; teamops itself asks `botFor`. */
  async fetchInstallation(query: InstallationQuery<boolean>): Promise<Installation<'v2', boolean>> {
    const bot = await this.botFor(query);
    if (!bot) throw new Error(`the app is not installed for ${describe(query)}`);
    const row = await this.#orm.em.fork().findOneOrFail(SlackInstallation, bot.installationId);
    return {
      team: row.slackTeamId ? { id: row.slackTeamId, name: row.teamName ?? undefined } : undefined,
      enterprise: row.enterpriseId
        ? { id: row.enterpriseId, name: row.enterpriseName ?? undefined }
        : undefined,
      user: { id: row.installerUserId ?? '', token: undefined, scopes: undefined },
      bot: {
        token: bot.token,
        scopes: row.botScopes.split(','),
        id: row.botId ?? '',
        userId: row.botUserId ?? '',
        expiresAt: row.botTokenExpiresAt ? Math.floor(row.botTokenExpiresAt.getTime() / 1000) : undefined,
      },
      appId: row.appId ?? undefined,
      enterpriseUrl: row.enterpriseUrl ?? undefined,
      isEnterpriseInstall: row.isEnterpriseInstall,
      authVersion: 'v2',
    } as Installation<'v2', boolean>;
  }

  async deleteInstallation(query: InstallationQuery<boolean>): Promise<void> {
    await this.uninstall(query);
  }

  /**
   * The bot for a request (Bolt's authorize source) or a workspace: a workspace install first,
   * then an org-wide install of the workspace's org. Undefined when the app is not installed.
   */
  async botFor(lookup: InstallationLookup): Promise<WorkspaceBot | undefined> {
    const em = this.#orm.em.fork();
    const row = await this.#find(em, lookup);
    if (!row?.botTokenSealed || row.uninstalledAt) return undefined;
    if (row.isEnterpriseInstall && lookup.teamId) await this.#link(em, lookup.teamId, row.id);
    return {
      installationId: row.id,
      token: await this.#usableToken(row),
      botId: row.botId ?? undefined,
      botUserId: row.botUserId ?? undefined,
      teamId: lookup.teamId ?? row.slackTeamId ?? undefined,
      enterpriseId: row.enterpriseId ?? undefined,
    };
  }

  /**
   * app_uninstalled / tokens_revoked: the tokens are wiped and the installation marked, so
   * Slack features pause for the workspace; the team, its data and API keys stay.
   */
  async uninstall(lookup: InstallationLookup): Promise<boolean> {
    const em = this.#orm.em.fork();
    const row = await this.#find(em, lookup);
    if (!row || row.uninstalledAt) return false;
    await run(
      em,
      `update slack_installations
          set uninstalled_at = now(), updated_at = now(), bot_token_sealed = null, bot_token_key_id = null,
              bot_refresh_token_sealed = null, bot_refresh_token_key_id = null, bot_token_expires_at = null
        where id = ?`,
      [row.id],
    );
    this.#log.info({ installKey: row.installKey }, 'Slack app uninstalled: Slack features paused for it');
    return true;
  }

  /** Seals every stored token again with the current key (after TOKEN_ENCRYPTION_KEY rotated). */
  async resealAll(): Promise<number> {
    const { cipher } = this.#options;
    let resealed = 0;
    const em = this.#orm.em.fork();
    const rows = await em.find(SlackInstallation, { botTokenSealed: { $ne: null } });
    for (const row of rows) {
      const stale =
        cipher.isStale({ keyId: row.botTokenKeyId! }) ||
        (row.botRefreshTokenKeyId != null && cipher.isStale({ keyId: row.botRefreshTokenKeyId }));
      if (!stale) continue;
      await em.fork().transactional(async (tx) => {
        const locked = await tx.findOne(SlackInstallation, row.id, { lockMode: LockMode.PESSIMISTIC_WRITE });
        if (!locked?.botTokenSealed) return;
        const token = cipher.seal(openToken(cipher, locked, 'bot'), BOT_TOKEN);
        locked.botTokenSealed = token.ciphertext;
        locked.botTokenKeyId = token.keyId;
        if (locked.botRefreshTokenSealed) {
          const refresh = cipher.seal(openToken(cipher, locked, 'refresh'), REFRESH_TOKEN);
          locked.botRefreshTokenSealed = refresh.ciphertext;
          locked.botRefreshTokenKeyId = refresh.keyId;
        }
      });
      resealed += 1;
    }
    return resealed;
  }

  async #find(em: EntityManager, lookup: InstallationLookup): Promise<ISlackInstallation | null> {
    if (lookup.isEnterpriseInstall && lookup.enterpriseId) {
      return em.findOne(SlackInstallation, { installKey: `org:${lookup.enterpriseId}` });
    }
    if (lookup.teamId) {
      const workspace = await em.findOne(SlackInstallation, { installKey: `team:${lookup.teamId}` });
      if (workspace) return workspace;
    }
    if (lookup.enterpriseId) {
      return em.findOne(SlackInstallation, { installKey: `org:${lookup.enterpriseId}` });
    }
    if (!lookup.teamId) return null;
    const link = await queryOne<{ installation_id: number }>(
      em,
      'select installation_id from slack_installation_workspaces where slack_team_id = ?',
      [lookup.teamId],
    );
    return link ? em.findOne(SlackInstallation, link.installation_id) : null;
  }

  async #link(em: EntityManager, slackTeamId: string, installationId: number): Promise<void> {
    const key = `${slackTeamId}:${installationId}`;
    if (this.#linked.has(key)) return;
    await run(
      em,
      `insert into slack_installation_workspaces (slack_team_id, installation_id) values (?, ?)
       on conflict (slack_team_id) do update set installation_id = excluded.installation_id`,
      [slackTeamId, installationId],
    );
    this.#linked.add(key);
  }

  #expiresSoon(row: Pick<ISlackInstallation, 'botTokenExpiresAt'>): boolean {
    const margin = this.#options.refreshMarginMs ?? DEFAULT_REFRESH_MARGIN_MS;
    return (
      row.botTokenExpiresAt !== null &&
      row.botTokenExpiresAt !== undefined &&
      row.botTokenExpiresAt.getTime() - this.#now().getTime() <= margin
    );
  }

  async #usableToken(row: ISlackInstallation): Promise<string> {
    if (!row.botRefreshTokenSealed || !this.#expiresSoon(row)) {
      return openToken(this.#options.cipher, row, 'bot');
    }
    let refreshing = this.#refreshing.get(row.id);
    if (!refreshing) {
      refreshing = this.#refresh(row.id).finally(() => this.#refreshing.delete(row.id));
      this.#refreshing.set(row.id, refreshing);
    }
    return refreshing;
  }

  async #refresh(installationId: number): Promise<string> {
    const { cipher, oauth } = this.#options;
    return this.#orm.em.fork().transactional(async (tx) => {
      const row = await tx.findOne(SlackInstallation, installationId, {
        lockMode: LockMode.PESSIMISTIC_WRITE,
      });
      if (!row?.botTokenSealed)
        throw new Error('the Slack installation was removed while its token was refreshed');
      // Another process refreshed while this one waited for the lock: use what it stored.
      if (!row.botRefreshTokenSealed || !this.#expiresSoon(row)) return openToken(cipher, row, 'bot');
      let answer: { access_token?: string; refresh_token?: string; expires_in?: number };
      try {
        answer = await this.#client.oauth.v2.access({
          client_id: oauth.clientId,
          client_secret: oauth.clientSecret,
          grant_type: 'refresh_token',
          refresh_token: openToken(cipher, row, 'refresh'),
        });
      } catch (error) {
        // Slack unreachable or the refresh refused: a token that has not expired yet still works.
        const stillValid = row.botTokenExpiresAt!.getTime() > this.#now().getTime();
        this.#log.warn(
          { err: slackErrorOnly(error), installKey: row.installKey, stillValid },
          'Slack token refresh failed',
        );
        if (stillValid) return openToken(cipher, row, 'bot');
        throw new Error(`the Slack token of ${row.installKey} expired and could not be refreshed`);
      }
      if (!answer.access_token || !answer.refresh_token || !answer.expires_in) {
        throw new Error('oauth.v2.access answered a token refresh without a token');
      }
      const token = cipher.seal(answer.access_token, BOT_TOKEN);
      const refresh = cipher.seal(answer.refresh_token, REFRESH_TOKEN);
      tx.assign(row, {
        botTokenSealed: token.ciphertext,
        botTokenKeyId: token.keyId,
        botRefreshTokenSealed: refresh.ciphertext,
        botRefreshTokenKeyId: refresh.keyId,
        botTokenExpiresAt: new Date(this.#now().getTime() + answer.expires_in * 1000),
      });
      this.#log.info(
        { installKey: row.installKey, expiresInS: answer.expires_in },
        'Slack bot token refreshed',
      );
      return answer.access_token;
    });
  }
}

function openToken(cipher: TokenCipher, row: ISlackInstallation, which: 'bot' | 'refresh'): string {
  const sealed: Sealed =
    which === 'bot'
      ? { ciphertext: row.botTokenSealed!, keyId: row.botTokenKeyId! }
      : { ciphertext: row.botRefreshTokenSealed!, keyId: row.botRefreshTokenKeyId! };
  return cipher.open(sealed, which === 'bot' ? BOT_TOKEN : REFRESH_TOKEN);
}

function describe(query: InstallationLookup): string {
  return query.isEnterpriseInstall ? `org ${query.enterpriseId}` : `workspace ${query.teamId}`;
}

function existingLabel(installation: Installation<'v1' | 'v2', boolean>): string {
  return installation.isEnterpriseInstall
    ? `Slack app installed org-wide in ${installation.enterprise?.name ?? installation.enterprise?.id}`
    : `Slack app installed in ${installation.team?.name ?? installation.team?.id}`;
}

/** The Web API client's errors carry the request; only Slack's error code goes to the log. */
function slackErrorOnly(error: unknown): { message: string; code?: string } {
  const e = error as { message?: string; code?: string; data?: { error?: string } };
  return { message: e.data?.error ?? e.message ?? String(error), code: e.code };
}

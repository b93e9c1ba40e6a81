import type { Logger as SlackLogger } from '@slack/bolt';
import { type CodedError, ErrorCode, InstallProvider, type InstallURLOptions } from '@slack/oauth';
import type { Application } from 'express';
import type { SlackConfig, SlackOAuthConfig } from '../../config.ts';
import type { Logger } from '../../logger.ts';
import type { Orm } from '../../platform/database.ts';
import type { SlackInstallationStore } from './installation-store.ts';
import { installedPage, installFailedPage, installPage } from './pages.ts';
import { BOT_SCOPES } from './scopes.ts';
import { DatabaseStateStore } from './state-store.ts';

/** Where an install starts (the "Add to Slack" page) and where Slack sends the browser back. */
export const INSTALL_PATH = '/slack/install';
export const OAUTH_REDIRECT_PATH = '/slack/oauth_redirect';

/** How long an install link (its state and cookie) stays usable. */
const STATE_LIFETIME_S = 10 * 60;

/**
 * Multi-workspace install (OAuth v2) through @slack/oauth's InstallProvider: GET /slack/install
 * shows "Add to Slack" with every bot scope of manifest.yml and sets a cookie binding the state
 * to the browser; GET /slack/oauth_redirect checks cookie and state (server-side, single use)
 * before the code is exchanged with oauth.v2.access at SLACK_API_URL, and stores the
 * installation. Every failure is a page saying what went wrong.
 */
export function mountInstallRoutes(
  expressApp: Application,
  deps: {
    orm: Orm;
    slack: SlackConfig & { oauth: SlackOAuthConfig };
    publicUrl: string;
    installations: SlackInstallationStore;
    logger: Logger;
    slackLogger: SlackLogger;
  },
): void {
  const { slack } = deps;
  const log = deps.logger.child({ component: 'slack-install' });
  const redirectUri = `${deps.publicUrl}${OAUTH_REDIRECT_PATH}`;
  const installer = new InstallProvider({
    clientId: slack.oauth.clientId,
    clientSecret: slack.oauth.clientSecret,
    installationStore: deps.installations,
    stateStore: new DatabaseStateStore(deps.orm, slack.oauth.stateSecret, STATE_LIFETIME_S * 1000),
    stateCookieExpirationSeconds: STATE_LIFETIME_S,
    // Slack's authorize page lives beside its Web API: https://slack.com/oauth/v2/authorize.
    authorizationUrl: new URL('../oauth/v2/authorize', withSlash(slack.apiUrl)).toString(),
    installUrlOptions: { scopes: [...BOT_SCOPES], redirectUri },
    renderHtmlForInstallPath: installPage,
    logger: deps.slackLogger,
    clientOptions: { slackApiUrl: withSlash(slack.apiUrl), timeout: 10_000 },
  });

  expressApp.get(INSTALL_PATH, async (req, res) => {
    try {
      await installer.handleInstallPath(req, res);
    } catch (error) {
      log.error({ err: error }, 'could not start a Slack install');
      if (!res.headersSent) {
        res
          .status(503)
          .type('html')
          .send(installFailedPage('teamops could not start the installation right now. Please try again.'));
      }
    }
  });

  expressApp.get(OAUTH_REDIRECT_PATH, async (req, res) => {
    await installer.handleCallback(req, res, {
      success: (installation, _options, _req, response) => {
        const workspace = installation.isEnterpriseInstall
          ? (installation.enterprise?.name ?? 'your organization')
          : (installation.team?.name ?? 'your workspace');
        response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        response.end(installedPage(workspace));
      },
      failure: (error: CodedError, _options: InstallURLOptions, _req, response) => {
        const { status, message } = explain(error);
        log.warn({ reason: error.code, status }, 'Slack install failed');
        response.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
        response.end(installFailedPage(message));
      },
    });
  });
}

/** What the person who tried to install is told, by what went wrong. */
function explain(error: CodedError): { status: number; message: string } {
  const restart = `Start again from ${INSTALL_PATH}.`;
  switch (error.code) {
    case ErrorCode.InvalidStateError:
    case ErrorCode.MissingStateError:
      return {
        status: 400,
        message: `This install link is not valid: it was already used, it expired, or it was opened in a different browser from the one that started the installation. ${restart}`,
      };
    case ErrorCode.MissingCodeError:
      return { status: 400, message: `Slack did not send an authorization code back. ${restart}` };
    case ErrorCode.AuthorizationError:
      return { status: 400, message: `The installation was cancelled in Slack. ${restart}` };
    default: {
      const slackError = (error as { data?: { error?: string } }).data?.error;
      return {
        status: 502,
        message: slackError
          ? `Slack refused the installation (${slackError}). ${restart}`
          : `teamops could not complete the installation with Slack. ${restart}`,
      };
    }
  }
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

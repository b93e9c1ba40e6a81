import {
  App,
  type Authorize,
  type Logger as BoltLogger,
  ExpressReceiver,
  LogLevel,
  SocketModeReceiver,
} from '@slack/bolt';
import type { Application } from 'express';
import type { AppDeps } from '../app.ts';
import type { Logger } from '../logger.ts';
import { Limiter } from '../platform/limiter.ts';
import type { RateLimits } from '../platform/rate-limits.ts';
import type { SlackDeps, TeamopsContext } from './context.ts';
import { registerListeners } from './listeners/index.ts';
import { INSTALL_PATH, mountInstallRoutes } from './oauth/install-routes.ts';
import { registerUninstallListeners } from './oauth/uninstall.ts';
import { slackRequestGuard, slackUserLimit } from './request-guard.ts';
import { refreshesSettled } from './support/app-home.ts';
import { recordSlackTeam } from './support/observe.ts';
import { createInstallationStore } from './workspace-tokens.ts';

/** Slack's one request URL: slash commands, interactivity and events all arrive here. */
export const SLACK_EVENTS_PATH = '/slack/events';

/**
 * Commands worked on at once after their ack, per process. The work is mostly waiting on
 * PostgreSQL; more in flight adds little throughput but takes CPU from the acks of new requests
 * (bench:slack, docs/benchmarks.md). More web processes add more.
 */
const AFTER_ACK_CONCURRENCY = 4;

export interface SlackHandle {
  app: App<TeamopsContext>;
  mode: 'http' | 'socket';
  /** Resolves once Slack can reach the app: at once over HTTP, when the socket is open in Socket Mode. */
  ready: Promise<void>;
  /** Resolves once the work after the acks so far is done, App Home refreshes it scheduled included. */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Mounts the Slack app on the product's Express app (POST /slack/events, signatures checked by
 * Bolt), or, with SLACK_APP_TOKEN, opens a Socket Mode connection instead (nothing is mounted).
 * Returns undefined when Slack is not configured. Must come before any body parser on the
 * Express app: Bolt verifies the signature over the raw body.
 */
export function mountSlack(
  expressApp: Application,
  deps: SlackDeps & Partial<Pick<AppDeps, 'orm'>>,
  options: { afterAckConcurrency?: number } = {},
): SlackHandle | undefined {
  const slack = deps.config.slack;
  if (!slack) return undefined;
  const logger = boltLogger(deps.logger.child({ component: 'slack' }));
  const clientOptions = { slackApiUrl: slack.apiUrl.endsWith('/') ? slack.apiUrl : `${slack.apiUrl}/` };

  // One bot token (single-workspace mode), or each request's workspace's own token, found by
  // `authorize` in the installations made through /slack/install (multi-workspace mode).
  let credentials: { token: string } | { authorize: Authorize<boolean> };
  const installations =
    slack.oauth && deps.orm ? createInstallationStore(deps.config, deps.orm, deps.logger) : undefined;
  if (slack.botToken) {
    credentials = { token: slack.botToken };
  } else if (installations && slack.oauth && deps.orm) {
    mountInstallRoutes(expressApp, {
      orm: deps.orm,
      slack: { ...slack, oauth: slack.oauth },
      publicUrl: deps.config.publicUrl,
      installations,
      logger: deps.logger,
      slackLogger: logger,
    });
    credentials = {
      authorize: async (source) => {
        const bot = await installations.botFor(source);
        if (!bot)
          throw new Error(
            `teamops is not installed in Slack workspace ${source.teamId ?? source.enterpriseId}`,
          );
        return {
          botToken: bot.token,
          botId: bot.botId,
          botUserId: bot.botUserId,
          teamId: bot.teamId,
          enterpriseId: bot.enterpriseId,
        };
      },
    };
  } else {
    throw new Error('multi-workspace Slack needs the database (orm) and TOKEN_ENCRYPTION_KEY');
  }

  // No listener uses Bolt's conversation store, which was read before every ack.
  const appOptions = { ...credentials, logger, clientOptions, convoStore: false as const };
  let app: App<TeamopsContext>;
  let mode: SlackHandle['mode'];
  let socket: SocketModeReceiver | undefined;
  // The shared counters (createHttpApp sets them), read when a request comes.
  const rateLimits = () => expressApp.locals.rateLimits as RateLimits | undefined;
  if (slack.appToken) {
    mode = 'socket';
    socket = new SocketModeReceiver({
      appToken: slack.appToken,
      logger,
      // The Socket Mode client opens its connection with `apps.connections.open` on this same
      // SLACK_API_URL; the `url` it answers decides where the WebSocket goes. A copy, because the
      // client writes its own retry policy into these options, which the listeners' clients
      // (built from App's clientOptions) must not inherit.
      installerOptions: { clientOptions: { ...clientOptions } },
    });
    app = new App<TeamopsContext>({ ...appOptions, receiver: socket });
  } else {
    mode = 'http';
    // Before Bolt's own route: timestamps both ways, replays, Slack's retries, per-user limits.
    expressApp.post(
      SLACK_EVENTS_PATH,
      slackRequestGuard({
        signingSecret: slack.signingSecret,
        rateLimits,
        logger: deps.logger,
      }),
    );
    const receiver = new ExpressReceiver({
      signingSecret: slack.signingSecret,
      // The guard above has checked this signature (and its timestamp both ways) on every request
      // that reaches Bolt; Bolt's second check (an HMAC plus tsscmp's two more) ran before each
      // ack for nothing (bench:slack, docs/benchmarks.md).
      signatureVerification: false,
      app: expressApp,
      endpoints: SLACK_EVENTS_PATH,
      logger,
    });
    app = new App<TeamopsContext>({ ...appOptions, receiver });
  }

  // Over HTTP the request guard limits each Slack user; over the socket, this middleware does.
  if (mode === 'socket') app.use(slackUserLimit({ rateLimits, logger: deps.logger }));

  const afterAck = new Limiter(options.afterAckConcurrency ?? AFTER_ACK_CONCURRENCY);
  app.use(async ({ context, next }) => {
    context.teamops = deps;
    context.afterAck = afterAck;
    await next();
  });
  app.use(recordSlackTeam);
  registerListeners(app);
  if (installations) registerUninstallListeners(app, installations);
  app.error(async (error) => {
    deps.logger.error({ err: error }, 'unhandled error in a Slack listener');
  });

  const workspaces = installations ? `any, installed through ${INSTALL_PATH}` : 'one (SLACK_BOT_TOKEN)';
  const ready =
    mode === 'socket'
      ? app.start().then(
          () => deps.logger.info({ workspaces }, 'Slack: connected in Socket Mode'),
          (error: unknown) => {
            deps.logger.error({ err: error }, 'Slack: the Socket Mode connection failed');
            throw error;
          },
        )
      : Promise.resolve(
          deps.logger.info({ path: SLACK_EVENTS_PATH, workspaces }, 'Slack: receiving requests over HTTP'),
        );
  // A caller that only mounts must not crash the process on a failed connection; it is logged above.
  ready.catch(() => {});
  const settled = async () => {
    await afterAck.idle();
    await refreshesSettled(deps);
  };
  return {
    app,
    mode,
    ready: ready.then(() => undefined),
    settled,
    async stop() {
      // Bolt's app.stop() does not wait for the socket to close; the client's disconnect() does
      // (close handshake, or a forced close when the peer does not answer in time).
      if (socket) await socket.client.disconnect();
      // Commands already acked are answered, and their pages refreshed, before the process goes.
      await settled();
    },
  };
}

const LEVELS: Record<string, LogLevel> = {
  trace: LogLevel.DEBUG,
  debug: LogLevel.DEBUG,
  info: LogLevel.INFO,
  warn: LogLevel.WARN,
};

/** Bolt and the Web API client log through the product's pino logger. */
function boltLogger(logger: Logger): BoltLogger {
  const text = (parts: unknown[]) =>
    parts.map((part) => (typeof part === 'string' ? part : String(part))).join(' ');
  return {
    debug: (...parts) => logger.debug(text(parts)),
    info: (...parts) => logger.info(text(parts)),
    warn: (...parts) => logger.warn(text(parts)),
    error: (...parts) => logger.error(text(parts)),
    setLevel: () => {},
    getLevel: () => LEVELS[logger.level] ?? LogLevel.ERROR,
    setName: () => {},
  };
}

import type { Server } from 'node:http';
import { startWorkers } from '../workers/index.ts';
import { type AppDeps, closeServices, createServices } from './app.ts';
import type { Config } from './config.ts';
import { mountQueueDashboard } from './http/admin.ts';
import * as creditRequestsRoutes from './http/api/credit-requests.routes.ts';
import * as membersRoutes from './http/api/members.routes.ts';
import * as messagingRoutes from './http/api/messaging.routes.ts';
import { mountOpenApiDocument } from './http/api/openapi.ts';
import * as statementsRoutes from './http/api/statements.routes.ts';
import * as statsRoutes from './http/api/stats.routes.ts';
import * as teamAdminRoutes from './http/api/team-admin.routes.ts';
import { mountSmsTo } from './http/compat/smsto.ts';
import { mountTextmagic } from './http/compat/textmagic.ts';
import { mountVonage } from './http/compat/vonage.ts';
import { mountApiReference } from './http/docs.ts';
import { mountInvitationPages } from './http/invitations.routes.ts';
import { mountProviderReports } from './http/provider-reports.routes.ts';
import { createHttpApp, createOpsApp, type HttpDeps, listen } from './http/server.ts';
import type { Logger } from './logger.ts';
import { connectOrm, poolOptions } from './orm.ts';
import { migrate, type Orm } from './platform/database.ts';
import { type Progress, startEmbeddedPostgres } from './platform/embedded-postgres.ts';
import { watchRuntime } from './platform/metrics.ts';
import { openQueues } from './platform/queue.ts';
import { openRateLimits } from './platform/rate-limits.ts';
import { loadServerSecret } from './platform/server-secret.ts';
import { mountSlack, type SlackHandle } from './slack/index.ts';

export interface Database {
  url: string;
  /** Stops the embedded server when this process started it; a no-op for DATABASE_URL. */
  stop(): Promise<void>;
}

/** The one place that decides where the database is: DATABASE_URL, or an embedded PostgreSQL under DATA_DIR. */
export async function openDatabase(config: Config, logger: Logger, progress?: Progress): Promise<Database> {
  if (config.databaseUrl) return { url: config.databaseUrl, stop: async () => {} };
  return startEmbeddedPostgres(config.dataDir, logger, progress);
}

/** Connects the ORM and brings the schema up to date (serialized across instances). */
export async function openOrm(database: Database, config: Config, logger: Logger): Promise<Orm> {
  const orm = await connectOrm(database.url, logger, { pool: poolOptions(config.databasePoolMax) });
  try {
    await migrate(orm, database.url, logger);
  } catch (error) {
    await orm.close(true);
    throw error;
  }
  return orm;
}

export interface RuntimeOptions {
  web: boolean;
  worker: boolean;
}

export interface Runtime {
  deps: HttpDeps;
  server: Server | null;
  stop(): Promise<void>;
}

/**
 * Starts the product: database (embedded unless DATABASE_URL), migrations, queues (BullMQ on
 * Redis, or on PostgreSQL without REDIS_URL), then the web role, the worker role or both.
 */
export async function startRuntime(
  config: Config,
  logger: Logger,
  options: RuntimeOptions,
): Promise<Runtime> {
  // Stopped in reverse order of start, after the web front: no new requests first, then the
  // Slack work already acked, then jobs, queues, the ORM, and the database last of all.
  const stops: Array<() => Promise<unknown>> = [];
  const front: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    for (const step of [...front.splice(0), ...stops.splice(0).reverse()]) {
      await step().catch((error) => logger.warn({ err: error }, 'error while stopping'));
    }
  };
  try {
    const database = await openDatabase(config, logger);
    stops.push(() => database.stop());
    const orm = await openOrm(database, config, logger);
    stops.push(() => orm.close());
    const queues = openQueues(config, database.url, logger);
    stops.push(() => queues.close());
    const unwatch = await watchRuntime(orm, queues);
    stops.push(async () => unwatch());
    const serverSecret = await loadServerSecret(config);
    const services = createServices(orm, { sms: config.sms, logger, serverSecret });
    stops.push(() => closeServices(services));
    const rateLimits = openRateLimits(config, database.url, logger);
    stops.push(() => rateLimits.close());
    const deps: HttpDeps = { config, logger, orm, services, queues, rateLimits };
    if (!config.slack) {
      logger.info(
        'Slack is not configured (no SLACK_SIGNING_SECRET with SLACK_BOT_TOKEN or SLACK_CLIENT_ID): running without Slack',
      );
    }

    let server: Server | null = null;
    let port: number | null = null;
    if (options.web) {
      let slack: SlackHandle | undefined;
      const app = createHttpApp(deps, {
        apiRoutes: [
          membersRoutes,
          teamAdminRoutes,
          creditRequestsRoutes,
          messagingRoutes,
          statsRoutes,
          statementsRoutes,
        ],
        mounts: [
          // Slack first: Bolt checks signatures over the raw body, before any body parser.
          (express) => {
            slack = mountSlack(express, deps);
          },
          (express) => mountInvitationPages(express, deps),
          // SMS.to's delivery reports; mounted only when SMSTO_WEBHOOK_SECRET is set.
          (express) => mountProviderReports(express, deps),
          // Before the native router, so the document needs no API key.
          (express) => mountOpenApiDocument(express),
          (express) => mountQueueDashboard(express, deps),
          (express) => mountApiReference(express),
          (express) => mountTextmagic(express, deps),
          (express) => mountSmsTo(express, deps),
          (express) => mountVonage(express, deps),
        ],
      });
      if (slack) {
        const handle = slack;
        front.push(() => handle.stop());
        await handle.ready;
        logger.info({ mode: handle.mode }, 'Slack connected');
      }
      server = await listen(app, config.port);
    } else if (options.worker) {
      // A worker answers probes and scrapes on PORT too, so it can be watched like the web.
      server = await listen(createOpsApp(deps), config.port);
    }
    if (server) {
      const address = server.address();
      front.unshift(closeServer.bind(null, server));
      port = typeof address === 'object' && address ? address.port : config.port;
      logger.info({ port }, options.web ? 'web listening' : 'worker health and metrics listening');
    }
    if (options.worker) {
      const workers = startWorkers(deps, { databaseUrl: database.url });
      stops.push(() => workers.stop());
      await workers.ready();
    }
    logger.info({ web: options.web, worker: options.worker }, 'ready');
    if (options.web && port !== null) {
      const url = `http://localhost:${port}`;
      logger.info(
        { url },
        `teamops is ready at ${url} — next: npm run cli -- team:create --name Acme --owner-name "Your Name" (prints an API key); API reference: ${url}/docs`,
      );
    }
    return { deps, server, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Stops taking connections and lets the requests under way finish; idle keep-alive connections
 * are closed at once, and any request still running after 10 s is cut.
 */
async function closeServer(server: Server): Promise<void> {
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), 10_000);
  await closed;
  clearTimeout(timer);
}

export type { AppDeps };

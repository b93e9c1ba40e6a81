import type { Server } from 'node:http';
import express, { type Express } from 'express';
import type { AppDeps } from '../app.ts';
import type { Queues } from '../platform/queue.ts';
import { memoryRateLimits, type RateLimits } from '../platform/rate-limits.ts';
import { createApiRouter, type RouteModule } from './api/router.ts';
import { mountHome } from './home.routes.ts';
import { mountMetrics } from './metrics.routes.ts';
import { requestLog } from './request-log.ts';

export interface HttpDeps extends AppDeps {
  queues: Queues;
  /** Shared across web processes (runtime.ts); absent: counted in this process (request-guard.ts). */
  rateLimits?: RateLimits;
}

/** Extra pieces mounted on the one HTTP app: Slack, pages, compatible APIs. */
export type Mount = (app: Express, deps: HttpDeps) => void;

/**
 * The product's one HTTP app: liveness and readiness, the native API under /api/v1, and
 * whatever the composition root mounts (Slack at /slack/events, the invitation pages…).
 */
export function createHttpApp(
  deps: HttpDeps,
  options: { apiRoutes: RouteModule[]; mounts: Mount[] },
): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', true);
  app.locals.rateLimits = deps.rateLimits ?? memoryRateLimits(deps.config.rateLimits);
  app.use(requestLog(deps.logger));
  mountHealth(app, deps);
  mountMetrics(app, deps.config.metricsToken);

  mountHome(app, deps);

  for (const mount of options.mounts) mount(app, deps);
  app.use('/api/v1', createApiRouter(deps, options.apiRoutes));
  return app;
}

/**
 * What a worker process serves on PORT: liveness, readiness and its metrics, nothing else.
 */
export function createOpsApp(deps: HttpDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestLog(deps.logger));
  mountHealth(app, deps);
  mountMetrics(app, deps.config.metricsToken);
  return app;
}

/** Liveness (the process answers) and readiness (it reaches the database and the queues). */
function mountHealth(app: Express, deps: HttpDeps): void {
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const [database, queue] = await Promise.all([
      check(() => deps.orm.em.fork().execute('select 1')),
      check(() => deps.queues.ping()),
    ]);
    const ready = database === 'ok' && queue === 'ok';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', database, queue });
  });
}

async function check(probe: () => Promise<unknown>): Promise<string> {
  try {
    await withTimeout(probe(), 2_000);
    return 'ok';
  } catch (error) {
    return `unreachable: ${(error as Error).message}`;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function listen(app: Express, port: number, host = '0.0.0.0'): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(server)));
  });
}

import { Redis } from 'ioredis';
import pg from 'pg';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import type { Config, RateLimitConfig } from '../config.ts';
import type { Logger } from '../logger.ts';
import { redisPrefix } from './queue.ts';

/**
 * Counters shared by every web process: in Redis when REDIS_URL is set, otherwise in
 * PostgreSQL (table rate_limits), like the queues. Each limiter falls back to a counter in this
 * process while its store does not answer, so an outage of the store slows nobody down.
 */
export interface RateLimits {
  /** Requests per API key, on /api/v1 and the compatible APIs. */
  api: Limiter;
  /** Slash commands and interactions per Slack user. */
  slack: Limiter;
  /** Invitation page requests per client address. */
  invitations: Limiter;
  /** Slack request signatures seen in the last 10 minutes. */
  slackSignatures: Limiter;
  close(): Promise<void>;
}

export interface Limiter {
  /** Counts one request for `key`: null when it may go on, else the seconds until it may. */
  take(key: string): Promise<number | null>;
}

/** A Slack signature is accepted within 5 minutes either side of now, so one is remembered 10. */
export const SIGNATURE_MEMORY_SECONDS = 600;

type Settings = Pick<RateLimitConfig, 'windowSeconds' | 'api' | 'slack' | 'invitations'>;

function plan(settings: Settings) {
  return {
    api: { points: settings.api, duration: settings.windowSeconds },
    slack: { points: settings.slack, duration: settings.windowSeconds },
    invitations: { points: settings.invitations, duration: settings.windowSeconds },
    slackSignatures: { points: 1, duration: SIGNATURE_MEMORY_SECONDS },
  } as const;
}

function limiter(store: RateLimiterAbstract): Limiter {
  return {
    async take(key) {
      try {
        await store.consume(key);
        return null;
      } catch (outcome) {
        if (outcome instanceof RateLimiterRes) return Math.max(1, Math.ceil(outcome.msBeforeNext / 1000));
        throw outcome;
      }
    },
  };
}

type LimitName = Exclude<keyof RateLimits, 'close'>;
type Plan = ReturnType<typeof plan>;

/** The four limiters from one kind of store; `store` builds the counter of one of them. */
function limitersFrom(
  p: Plan,
  store: (name: LimitName, limit: Plan[LimitName]) => RateLimiterAbstract,
  close: () => Promise<void>,
): RateLimits {
  const make = (name: LimitName) => limiter(store(name, p[name]));
  return {
    api: make('api'),
    slack: make('slack'),
    invitations: make('invitations'),
    slackSignatures: make('slackSignatures'),
    close,
  };
}

/** Counters in this process only: for tests and tools that build an HTTP app of their own. */
export function memoryRateLimits(settings: Settings): RateLimits {
  return limitersFrom(
    plan(settings),
    (name, limit) => new RateLimiterMemory({ keyPrefix: name, ...limit }),
    async () => {},
  );
}

/** The shared counters for a running product. */
export function openRateLimits(
  config: Pick<Config, 'redisUrl' | 'queuePrefix' | 'rateLimits'>,
  databaseUrl: string,
  logger: Logger,
): RateLimits {
  const p = plan(config.rateLimits);
  const log = logger.child({ component: 'rate-limits' });
  // While the store does not answer, each limiter counts in this process instead.
  const insurance = (name: LimitName, limit: Plan[LimitName]) =>
    new RateLimiterMemory({ keyPrefix: name, ...limit });
  if (config.redisUrl) {
    // No offline queue: while Redis is away a request is counted in memory at once, not held.
    const client = new Redis(config.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    client.on('error', (error) => log.debug({ err: error }, 'rate-limit store unreachable'));
    return limitersFrom(
      p,
      (name, limit) =>
        new RateLimiterRedis({
          storeClient: client,
          keyPrefix: `${redisPrefix(config.queuePrefix)}:limits:${name}`,
          ...limit,
          insuranceLimiter: insurance(name, limit),
        }),
      async () => {
        client.disconnect();
      },
    );
  }
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
  pool.on('error', (error) => log.debug({ err: error }, 'rate-limit store unreachable'));
  return limitersFrom(
    p,
    (name, limit) =>
      new RateLimiterPostgres({
        storeClient: pool,
        storeType: 'pool',
        tableName: 'rate_limits',
        // Created by a migration (RateLimitCounter), so the schema stays the migrations' own.
        tableCreated: true,
        // One limiter sweeps expired counters of the shared table (every 5 minutes).
        clearExpiredByTimeout: name === 'invitations',
        keyPrefix: name,
        ...limit,
        insuranceLimiter: insurance(name, limit),
      }),
    () => pool.end(),
  );
}

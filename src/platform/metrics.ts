import client from 'prom-client';
import { QUEUES } from '../jobs/jobs.ts';
import type { Orm } from './database.ts';
import type { Queues } from './queue.ts';

/**
 * Every Prometheus metric of one process, on its own registry, named `teamops_…`. Counters and
 * histograms are updated where the thing happens; gauges of shared state (queues, outbox,
 * database pool) are read when /metrics is scraped, from the sources `watchRuntime` gives.
 * docs/operations.md lists them with the alert rules worth having.
 */
export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry, prefix: 'teamops_' });

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const JOB_SECONDS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export const httpRequestDuration = new client.Histogram({
  name: 'teamops_http_request_duration_seconds',
  help: 'HTTP requests by route template and status, with their duration',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: SECONDS,
  registers: [registry],
});

export const slackAckDuration = new client.Histogram({
  name: 'teamops_slack_ack_duration_seconds',
  help: 'Time from a Slack command reaching its listener to its ack (Slack allows 3 s)',
  labelNames: ['command'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3],
  registers: [registry],
});

export const postings = new client.Counter({
  name: 'teamops_postings_total',
  help: 'Ledger postings decided, by transfer kind and outcome (applied, replayed, refused)',
  labelNames: ['kind', 'outcome'] as const,
  registers: [registry],
});

export const smsCharges = new client.Counter({
  name: 'teamops_sms_charges_total',
  help: 'SMS send requests charged, by who pays (member, owner) and outcome (charged, replayed, refused)',
  labelNames: ['kind', 'outcome'] as const,
  registers: [registry],
});

export const jobs = new client.Counter({
  name: 'teamops_jobs_total',
  help: 'Job runs by queue and outcome (completed, retried, failed, rate_limited)',
  labelNames: ['queue', 'outcome'] as const,
  registers: [registry],
});

export const jobDuration = new client.Histogram({
  name: 'teamops_job_duration_seconds',
  help: 'How long job runs took, by queue and outcome',
  labelNames: ['queue', 'outcome'] as const,
  buckets: JOB_SECONDS,
  registers: [registry],
});

export const queueJobs = new client.Gauge({
  name: 'teamops_queue_jobs',
  help: 'Jobs in each queue by state (waiting, active, delayed, prioritized, failed, completed kept)',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
});

export const queueOldestWaiting = new client.Gauge({
  name: 'teamops_queue_oldest_waiting_seconds',
  help: 'Age of the oldest job waiting to run in each queue, since it became due (0 when none waits)',
  labelNames: ['queue'] as const,
  registers: [registry],
});

export const outboxWaiting = new client.Gauge({
  name: 'teamops_outbox_waiting_rows',
  help: 'Outbox rows committed and due but not yet handed to a queue',
  registers: [registry],
});

export const outboxOldest = new client.Gauge({
  name: 'teamops_outbox_oldest_waiting_seconds',
  help: "Age of the oldest due outbox row not yet handed to a queue: the relay's lag",
  registers: [registry],
});

export const dbPool = new client.Gauge({
  name: 'teamops_db_pool_connections',
  help: "The ORM's PostgreSQL pool: connections in use, idle, and callers waiting for one",
  labelNames: ['state'] as const,
  registers: [registry],
});

// A scrape must answer even when a backend does not: each source gets this long.
const SOURCE_TIMEOUT_MS = 2_000;

interface PgPoolCounts {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

interface Sources {
  orm: Orm;
  queues: Queues;
  pool: PgPoolCounts;
}

let sources: Sources | undefined;

/**
 * Points the scrape-time gauges at this process's database and queues; returns the undo, for
 * shutdown. One runtime per process (tests that start several use the last).
 */
export async function watchRuntime(orm: Orm, queues: Queues): Promise<() => void> {
  const pool = (await orm.em.getConnection().getNativeClient()) as unknown as PgPoolCounts;
  const mine: Sources = { orm, queues, pool };
  sources = mine;
  return () => {
    if (sources === mine) sources = undefined;
  };
}

/** The text of a scrape: reads the shared state first, then renders every family. */
export async function scrape(): Promise<{ contentType: string; body: string }> {
  const current = sources;
  if (current)
    await Promise.all([readQueues(current.queues), readOutbox(current.orm), readPool(current.pool)]);
  return { contentType: registry.contentType, body: await registry.metrics() };
}

async function readQueues(queues: Queues): Promise<void> {
  await Promise.all(
    QUEUES.map(async (queue) => {
      try {
        const [counts, oldest] = await withTimeout(
          Promise.all([queues.counts(queue), queues.oldestWaitingSince(queue)]),
        );
        for (const [state, count] of Object.entries(counts)) queueJobs.set({ queue, state }, count);
        queueOldestWaiting.set(
          { queue },
          oldest === undefined ? 0 : Math.max(0, (Date.now() - oldest) / 1000),
        );
      } catch {
        // Unreachable: leave the series out rather than report a stale figure as current.
        for (const state of ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'])
          queueJobs.remove({ queue, state });
        queueOldestWaiting.remove({ queue });
      }
    }),
  );
}

async function readOutbox(orm: Orm): Promise<void> {
  try {
    const [row] = await withTimeout(
      orm.em.fork().execute<Array<{ waiting: string; oldest: number | null }>>(
        `select count(*) as waiting, extract(epoch from now() - min(available_at))::float8 as oldest
             from outbox where dispatched_at is null and available_at <= now()`,
      ),
    );
    outboxWaiting.set(Number(row?.waiting ?? 0));
    outboxOldest.set(Math.max(0, Number(row?.oldest ?? 0)));
  } catch {
    outboxWaiting.reset();
    outboxOldest.reset();
  }
}

function readPool(pool: PgPoolCounts): void {
  dbPool.set({ state: 'in_use' }, pool.totalCount - pool.idleCount);
  dbPool.set({ state: 'idle' }, pool.idleCount);
  dbPool.set({ state: 'waiting' }, pool.waitingCount);
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no answer')), SOURCE_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

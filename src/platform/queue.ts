import {
  createPostgresBackend,
  DelayedError,
  type JobsOptions,
  type KeepJobs,
  type PostgresPoolConfig,
  Queue,
  RateLimitError,
  UnrecoverableError,
  Worker,
} from 'bullmq';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { connectRedis, type RedisConnection, type RedisTarget, redisTarget } from './redis.ts';

/**
 * The one module that knows which queue backend runs: BullMQ on Redis when REDIS_URL is set,
 * otherwise BullMQ's PostgreSQL backend on the product's own database. Everything else sees
 * `Queues`, so no other module imports bullmq (workers/ aside) and both backends behave alike.
 */

export type QueueBackendKind = 'redis' | 'postgres';

/** What a processor sees of a job: enough to be idempotent, nothing backend-specific. */
export interface QueueJob<T = unknown> {
  id: string;
  name: string;
  data: T;
  /** Attempts already finished before this one (0 on the first run). */
  attemptsMade: number;
  /** How many attempts the job gets in all. */
  maxAttempts: number;
  /** When the job was created (ms since epoch). */
  createdAt: number;
  /** When it was due: creation plus its delay (for a scheduler's job, the scheduled instant). */
  scheduledFor: number;
}

export type JobProcessor = (job: QueueJob) => Promise<unknown>;

export interface AddOptions {
  /** Deduplicates: a second add with the same id is ignored while the first job is kept. */
  jobId?: string;
  delayMs?: number;
  attempts?: number;
  backoff?: { type: 'exponential' | 'fixed'; delayMs: number };
}

export interface BulkJob {
  name: string;
  data: object;
  opts?: AddOptions;
}

export interface Schedule {
  cron: string;
  /** IANA zone the cron pattern is read in, e.g. "Europe/Athens". */
  timezone: string;
}

export interface WorkerOptions {
  concurrency?: number;
  /** How long a job may run before another worker may consider it stalled and take it over. */
  lockDurationMs?: number;
  /** When `close()` gives up waiting for active jobs and releases them to other workers. */
  shutdownTimeoutMs?: number;
  /** At most `max` jobs per `durationMs` across all workers of the queue. */
  limiter?: { max: number; durationMs: number };
}

export interface QueueWorker {
  readonly queue: string;
  /** Stops taking jobs, waits for active ones (up to shutdownTimeoutMs), then releases the rest. */
  close(): Promise<void>;
  /** Resolves once the worker has connected and is waiting for jobs. */
  ready(): Promise<void>;
  onFailed(listener: (job: QueueJob | undefined, error: Error) => void): void;
  onCompleted(listener: (job: QueueJob) => void): void;
}

export interface Queues {
  readonly backend: QueueBackendKind;
  /** The namespace all queues share: the Redis key prefix, or the PostgreSQL schema. */
  readonly namespace: string;
  add(queue: string, name: string, data: object, opts?: AddOptions): Promise<void>;
  addBulk(queue: string, jobs: BulkJob[]): Promise<void>;
  /** Creates or replaces a recurring job; idempotent, so every deploy may call it. */
  upsertSchedule(
    queue: string,
    id: string,
    schedule: Schedule,
    template: { name: string; data: object; opts?: Pick<AddOptions, 'attempts' | 'backoff'> },
  ): Promise<{ nextRunAt: Date | undefined }>;
  removeSchedule(queue: string, id: string): Promise<boolean>;
  getSchedule(queue: string, id: string): Promise<(Schedule & { nextRunAt: Date | undefined }) | undefined>;
  /** Holds back every worker of the queue for this long (a 429's Retry-After). */
  rateLimit(queue: string, ms: number): Promise<void>;
  /** Job counts by state, for readiness pages, tests and benchmarks. */
  counts(queue: string): Promise<Record<string, number>>;
  /** When the job that has waited longest became due (ms since epoch), or undefined if none waits. */
  oldestWaitingSince(queue: string): Promise<number | undefined>;
  /** The BullMQ queue itself, for the queue dashboard; nothing else should need it. */
  bullQueue(queue: string): unknown;
  createWorker(queue: string, processor: JobProcessor, opts?: WorkerOptions): QueueWorker;
  /** Throws when the backend cannot be reached within a couple of seconds. */
  ping(): Promise<void>;
  /** Closes workers first (letting their jobs finish), then producers and connections. */
  close(): Promise<void>;
}

/**
 * Thrown by a processor after `rateLimit()`: the job goes back to waiting without using up an
 * attempt, and runs once the limit expires.
 */
export function rateLimitedError(): Error {
  return new RateLimitError();
}

/**
 * Thrown by a processor whose job must wait until `untilMs` (ms since epoch), for instance
 * because the Slack workspace it posts to answered 429: the job goes back to the queue as a
 * delayed job without using up an attempt, and the queue's other jobs carry on meanwhile.
 */
export class PostponedError extends Error {
  override name = 'PostponedError';
  readonly untilMs: number;
  constructor(untilMs: number, reason: string) {
    super(reason);
    this.untilMs = untilMs;
  }
}

/** Thrown by a processor for a job that can never succeed (malformed payload): no more retries. */
export function permanentFailure(message: string): Error {
  return new UnrecoverableError(message);
}

// Finished jobs are kept by count and by age so that Redis (or the PostgreSQL backend's tables)
// stays flat under sustained load: completed jobs for a minute, at most 100 per queue, which is
// what an operator watching the queue dashboard sees go by (the durable record of what ran is
// job_receipts, kept 30 days); failed jobs, the ones worth investigating, for a week, at most a
// few thousand per queue. The age is what flattens a quiet queue: by count alone, a queue
// finishing a job every few seconds kept growing for an hour toward its cap (soak,
// docs/benchmarks.md). A job id the relay re-sends after a crash arrives within seconds, while
// the first job is still kept; and every handler is idempotent, so even a late duplicate acts once.
const KEEP_COMPLETED = { age: 60, count: 100 };
const KEEP_FAILED = { age: 7 * 24 * 3600, count: 5_000 };
/**
 * On PostgreSQL, BullMQ applies a job's retention in the transaction that completes it: every
 * completion deletes the completed jobs past the age and the count, so concurrent completions
 * all try to delete the same rows and wait on each other's row locks until commit (bench:queue
 * with BENCH_QUEUE_BACKEND=postgres: most completions waiting on a tuple lock). There, completed
 * jobs are kept as they finish, and each worker sweeps those older than the minute every few
 * seconds, in one statement, instead.
 */
const SWEEP_COMPLETED_EVERY_MS = 5_000;
const PING_TIMEOUT_MS = 2_000;
// BullMQ waits for a connection before adding; an outbox relay must hear "not now" instead and
// keep the rows. An add that goes through late is harmless: the job id makes it the same job.
// PostgreSQL refuses at once when it is down, but a busy one takes seconds for a big batch.
const ADD_TIMEOUT_MS: Record<QueueBackendKind, number> = { redis: 5_000, postgres: 30_000 };

/**
 * Redis keys are prefixed with a hash tag (`{teamops}`) so every key of every queue lands in
 * one Redis Cluster slot, which BullMQ's multi-key scripts need.
 */
export function redisPrefix(queuePrefix: string): string {
  return `{${queuePrefix}}`;
}

/** PostgreSQL schema names allow letters, digits and "_": QUEUE_PREFIX also allows "-". */
export function postgresSchema(queuePrefix: string): string {
  return `bullmq_${queuePrefix.replace(/-/g, '_').toLowerCase()}`;
}

export function openQueues(
  config: Pick<Config, 'redisUrl' | 'queuePrefix'> & Partial<Pick<Config, 'redisClusterNodes'>>,
  databaseUrl: string,
  logger: Logger,
): Queues {
  const log = logger.child({ component: 'queues' });
  const redis = redisTarget(config);
  return redis
    ? new BullQueues('redis', redisBackend(redis, config.queuePrefix), log)
    : new BullQueues('postgres', postgresBackend(databaseUrl, config.queuePrefix), log);
}

// The two backends' Queue/Worker types differ only in their connection option type.
type AnyQueue = Pick<
  Queue<object>,
  | 'add'
  | 'addBulk'
  | 'upsertJobScheduler'
  | 'removeJobScheduler'
  | 'getJobScheduler'
  | 'rateLimit'
  | 'getJobCounts'
  | 'getJobCountByTypes'
  | 'getJobs'
  | 'clean'
  | 'close'
> & { on(event: 'error', listener: (error: Error) => void): unknown };
type AnyWorker = Pick<Worker, 'run' | 'close' | 'waitUntilReady'> & {
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'failed', listener: (job: BullJob | undefined, error: Error) => void): unknown;
  on(event: 'completed', listener: (job: BullJob) => void): unknown;
};

/** How Queue and Worker instances are built for one backend. */
interface Backend {
  namespace: string;
  newQueue(name: string): AnyQueue;
  newWorker(name: string, processor: JobProcessor, opts: WorkerOptions): AnyWorker;
  ping(anyQueue: () => AnyQueue): Promise<void>;
  close(): Promise<void>;
}

function redisBackend(target: RedisTarget, queuePrefix: string): Backend {
  const prefix = redisPrefix(queuePrefix);
  // Producers share one connection and fail fast while Redis is away (the outbox keeps the
  // work); workers get their own connections that wait and reconnect forever.
  const producer = connectRedis(target, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  producer.on('error', () => {
    // ioredis reports every failed reconnect; the callers of add() see the failure instead.
  });
  // BullMQ does not close a connection it was given: these are closed with the backend.
  const workerConnections = new Set<RedisConnection>();
  return {
    namespace: prefix,
    newQueue: (name) => new Queue(name, { connection: producer, prefix }),
    newWorker: (name, processor, opts) => {
      const connection = connectRedis(target, { maxRetriesPerRequest: null });
      connection.on('error', () => {
        // The worker reports its own connection errors, once.
      });
      workerConnections.add(connection);
      return new Worker(name, processorFor(processor), {
        connection,
        prefix,
        autorun: false,
        ...workerSettings(opts, retention('redis')),
      });
    },
    async ping() {
      await withTimeout(producer.ping(), PING_TIMEOUT_MS, 'Redis did not answer');
    },
    async close() {
      producer.disconnect();
      for (const connection of workerConnections) connection.disconnect();
    },
  };
}

function postgresBackend(databaseUrl: string, queuePrefix: string): Backend {
  const schema = postgresSchema(queuePrefix);
  // Each Queue/Worker owns a small pool plus one LISTEN connection; `migrate` creates the
  // backend's schema on first use (serialized by BullMQ's advisory lock).
  // No connection timeout: pg-pool applies it to waiting for a free client too, and BullMQ's
  // background loops do not all catch that error. ping() has its own timeout.
  const connection = (max: number): PostgresPoolConfig => ({
    connectionString: databaseUrl,
    schema,
    migrate: true,
    max,
    // Queue changes commit without waiting for the WAL to reach the disk (the first limit after
    // the retention sweep in bench:queue: ~1.5× the jobs per second). A PostgreSQL crash loses at
    // most the last fraction of a second of them, and only as the tail of the WAL: a lost add
    // means the relay's dispatch mark, committed after it, is lost too and the row is sent again;
    // a lost completion runs an idempotent job again. A job a worker adds straight to a queue in
    // that last fraction of a second can be lost, as with Redis persisting once a second.
    options: '-c synchronous_commit=off',
  });
  return {
    namespace: schema,
    newQueue: (name) => new Queue(name, { connection: connection(8) }, createPostgresBackend),
    newWorker: (name, processor, opts) =>
      new Worker(
        name,
        processorFor(processor),
        {
          connection: connection(Math.min(12, 2 + Math.ceil((opts.concurrency ?? 1) / 2))),
          autorun: false,
          ...workerSettings(opts, retention('postgres')),
        },
        createPostgresBackend,
      ),
    async ping(anyQueue) {
      await withTimeout(
        anyQueue().getJobCountByTypes('waiting'),
        PING_TIMEOUT_MS,
        'PostgreSQL did not answer',
      );
    },
    async close() {},
  };
}

function workerSettings(opts: WorkerOptions, keep: Retention) {
  return {
    concurrency: opts.concurrency ?? 1,
    // A worker that dies (SIGKILL, lost host) keeps its jobs locked this long; then the stalled
    // check, which runs twice as often, hands them to a live worker. Locks renew at half-time.
    lockDuration: opts.lockDurationMs ?? 10_000,
    stalledInterval: (opts.lockDurationMs ?? 10_000) / 2,
    limiter: opts.limiter ? { max: opts.limiter.max, duration: opts.limiter.durationMs } : undefined,
    // A job's own options win over these; every job we add carries them.
    removeOnComplete: keep.removeOnComplete || undefined,
    removeOnFail: keep.removeOnFail,
  };
}

type BullJob = {
  id?: string;
  name: string;
  data: unknown;
  attemptsMade: number;
  opts: { attempts?: number; delay?: number };
  timestamp: number;
  delay?: number;
  moveToDelayed(timestamp: number, token?: string): Promise<void>;
};

function toQueueJob(job: BullJob): QueueJob {
  return {
    id: job.id ?? '',
    name: job.name,
    data: job.data,
    attemptsMade: job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
    createdAt: job.timestamp,
    scheduledFor: job.timestamp + (job.delay ?? job.opts.delay ?? 0),
  };
}

function processorFor(processor: JobProcessor) {
  return async (job: BullJob, token?: string) => {
    try {
      return await processor(toQueueJob(job));
    } catch (error) {
      if (!(error instanceof PostponedError)) throw error;
      await job.moveToDelayed(error.untilMs, token);
      throw new DelayedError(error.message);
    }
  };
}

interface Retention {
  /** false: kept as they finish, and swept by age (PostgreSQL, see SWEEP_COMPLETED_EVERY_MS). */
  removeOnComplete: KeepJobs | false;
  removeOnFail: KeepJobs;
}

function retention(backend: QueueBackendKind): Retention {
  return {
    removeOnComplete: backend === 'postgres' ? false : KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  };
}

function jobOptions(keep: Retention, opts: AddOptions = {}): JobsOptions {
  return {
    jobId: opts.jobId,
    delay: opts.delayMs && opts.delayMs > 0 ? Math.round(opts.delayMs) : undefined,
    attempts: opts.attempts,
    backoff: opts.backoff ? { type: opts.backoff.type, delay: opts.backoff.delayMs } : undefined,
    ...keep,
  };
}

class BullQueues implements Queues {
  readonly backend: QueueBackendKind;
  readonly namespace: string;
  readonly #impl: Backend;
  readonly #logger: Logger;
  readonly #queues = new Map<string, AnyQueue>();
  readonly #workers = new Set<QueueWorker>();
  readonly #keep: Retention;
  #closing: Promise<void> | undefined;

  constructor(backend: QueueBackendKind, impl: Backend, logger: Logger) {
    this.backend = backend;
    this.#keep = retention(backend);
    this.namespace = impl.namespace;
    this.#impl = impl;
    this.#logger = logger;
  }

  #queue(name: string): AnyQueue {
    if (this.#closing) throw new Error('queues are closed');
    let queue = this.#queues.get(name);
    if (!queue) {
      queue = this.#impl.newQueue(name);
      queue.on('error', (error) => {
        // While we stop, the database or Redis may end a connection before its queue has let go:
        // expected, and no reason to warn whoever watches the logs.
        const level = this.#closing ? 'debug' : 'warn';
        this.#logger[level]({ err: error, queue: name }, 'queue connection error');
      });
      this.#queues.set(name, queue);
    }
    return queue;
  }

  async add(queue: string, name: string, data: object, opts?: AddOptions): Promise<void> {
    await withTimeout(
      this.#queue(queue).add(name, data, jobOptions(this.#keep, opts)),
      ADD_TIMEOUT_MS[this.backend],
      `queue ${queue} did not accept the job`,
    );
  }

  async addBulk(queue: string, jobs: BulkJob[]): Promise<void> {
    if (jobs.length === 0) return;
    await withTimeout(
      this.#queue(queue).addBulk(
        jobs.map((job) => ({ name: job.name, data: job.data, opts: jobOptions(this.#keep, job.opts) })),
      ),
      ADD_TIMEOUT_MS[this.backend],
      `queue ${queue} did not accept the jobs`,
    );
  }

  async upsertSchedule(
    queue: string,
    id: string,
    schedule: Schedule,
    template: { name: string; data: object; opts?: Pick<AddOptions, 'attempts' | 'backoff'> },
  ): Promise<{ nextRunAt: Date | undefined }> {
    const { jobId: _ignored, delay: _none, ...opts } = jobOptions(this.#keep, template.opts);
    const next = await this.#queue(queue).upsertJobScheduler(
      id,
      { pattern: schedule.cron, tz: schedule.timezone },
      { name: template.name, data: template.data, opts },
    );
    const runAt = next ? next.timestamp + (next.delay ?? 0) : undefined;
    return { nextRunAt: runAt === undefined ? undefined : new Date(runAt) };
  }

  async removeSchedule(queue: string, id: string): Promise<boolean> {
    return this.#queue(queue).removeJobScheduler(id);
  }

  async getSchedule(queue: string, id: string) {
    const scheduler = await this.#queue(queue).getJobScheduler(id);
    if (!scheduler?.pattern) return undefined;
    return {
      cron: scheduler.pattern,
      timezone: scheduler.tz ?? 'UTC',
      nextRunAt: scheduler.next === undefined ? undefined : new Date(scheduler.next),
    };
  }

  async rateLimit(queue: string, ms: number): Promise<void> {
    await this.#queue(queue).rateLimit(Math.max(1, Math.round(ms)));
  }

  async counts(queue: string): Promise<Record<string, number>> {
    return this.#queue(queue).getJobCounts(
      'waiting',
      'active',
      'delayed',
      'completed',
      'failed',
      'prioritized',
    );
  }

  async oldestWaitingSince(queue: string): Promise<number | undefined> {
    // Waiting jobs are kept in arrival order; ascending puts the one that arrived first first.
    const [oldest] = await this.#queue(queue).getJobs(['waiting'], 0, 0, true);
    return oldest ? toQueueJob(oldest as unknown as BullJob).scheduledFor : undefined;
  }

  bullQueue(queue: string): unknown {
    return this.#queue(queue);
  }

  createWorker(queue: string, processor: JobProcessor, opts: WorkerOptions = {}): QueueWorker {
    if (this.#closing) throw new Error('queues are closed');
    const worker = this.#impl.newWorker(queue, processor, opts);
    const log = this.#logger.child({ queue });
    // Once closing, a connection that drops is one being shut down: no cause for a warning.
    worker.on('error', (error) =>
      closing
        ? log.debug({ err: error }, 'worker connection closed')
        : log.warn({ err: error }, 'worker connection error'),
    );
    worker.on('failed', (job, error) =>
      log.warn({ err: error, jobId: job?.id, job: job?.name, attemptsMade: job?.attemptsMade }, 'job failed'),
    );
    let sweeping = false;
    const sweep =
      this.#keep.removeOnComplete === false
        ? setInterval(() => {
            if (sweeping) return;
            sweeping = true;
            this.#queue(queue)
              .clean(KEEP_COMPLETED.age * 1000, 0, 'completed')
              .catch((error: unknown) => log.debug({ err: error }, 'could not sweep completed jobs'))
              .finally(() => {
                sweeping = false;
              });
          }, SWEEP_COMPLETED_EVERY_MS).unref()
        : undefined;
    // run() resolves only when the worker closes; errors surface through the 'error' event.
    const running = worker.run().catch((error: unknown) => log.error({ err: error }, 'worker stopped'));
    const shutdownTimeoutMs = opts.shutdownTimeoutMs ?? 25_000;
    let closing: Promise<void> | undefined;
    const handle: QueueWorker = {
      queue,
      ready: () => worker.waitUntilReady().then(() => undefined),
      close: () => {
        closing ??= (async () => {
          clearInterval(sweep);
          const graceful = worker.close().then(() => 'closed' as const);
          const outcome = await Promise.race([
            graceful,
            delay(shutdownTimeoutMs).then(() => 'timeout' as const),
          ]);
          if (outcome === 'timeout') {
            // The active jobs keep their locks until they expire; then another worker takes them over.
            log.warn(
              { shutdownTimeoutMs },
              'jobs still running at shutdown: releasing them to other workers',
            );
            await worker.close(true);
          }
          await running;
          this.#workers.delete(handle);
        })();
        return closing;
      },
      onFailed: (listener) =>
        worker.on('failed', (job, error) => listener(job ? toQueueJob(job) : undefined, error)),
      onCompleted: (listener) => worker.on('completed', (job) => listener(toQueueJob(job))),
    };
    this.#workers.add(handle);
    return handle;
  }

  async ping(): Promise<void> {
    await this.#impl.ping(() => this.#queue('health'));
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all([...this.#workers].map((worker) => worker.close()));
      // A queue that never reached its backend would wait for it forever: give up after a while.
      await withTimeout(
        Promise.all([...this.#queues.values()].map((queue) => queue.close().catch(() => {}))),
        PING_TIMEOUT_MS,
        'queues did not close',
      ).catch((error: Error) => this.#logger.warn({ err: error }, 'closing queues timed out'));
      await this.#impl.close();
    })();
    return this.#closing;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

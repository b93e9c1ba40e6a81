import { syncDigestSchedule } from '../src/digests/digest-jobs.ts';
import { isJobName, type JobName, jobs, QUEUES, type QueueName } from '../src/jobs/jobs.ts';
import { createMailer } from '../src/mail/mailer.ts';
import { type OutboxRelay, type RelayOptions, startOutboxRelay } from '../src/outbox/relay.ts';
import {
  permanentFailure,
  type QueueJob,
  type QueueWorker,
  type WorkerOptions,
} from '../src/platform/queue.ts';
import { queryAll } from '../src/platform/sql.ts';
import { createSlackPoster } from '../src/slack/outbound/slack-poster.ts';
import { WorkspaceRateLimits } from '../src/slack/workspace-rate-limits.ts';
import { createInstallationStore, createWorkspaceTokens } from '../src/slack/workspace-tokens.ts';
import { observeJob } from './observe.ts';
import { type Processor, processors, type WorkerDeps } from './processors.ts';

export type { WorkerDeps };

/** How many jobs of each queue one process runs at once, and how fast Slack is fed. */
const QUEUE_SETTINGS: Record<QueueName, WorkerOptions> = {
  // Recharges lock their member row; many members can be recharged side by side.
  balance: { concurrency: 16 },
  mail: { concurrency: 4 },
  // Slack allows about one message per second per channel with short bursts; a 429 holds back
  // that workspace's posts (src/slack/outbound/slack-poster.ts). One post at a time per process.
  slack: { concurrency: 1, limiter: { max: 10, durationMs: 1_000 } },
  digests: { concurrency: 2 },
  // Mostly waiting on the SMS provider's HTTP API.
  messages: { concurrency: 8 },
};

export interface Workers {
  /** Stops taking jobs, lets active ones finish (or releases them), stops the relay. */
  stop(): Promise<void>;
  /** Resolves when every queue's worker is connected and waiting. */
  ready(): Promise<void>;
}

export interface StartWorkersOptions {
  /** The database the outbox lives in (the embedded one when DATABASE_URL is unset). */
  databaseUrl: string;
  relay?: RelayOptions | false;
  /** Only these queues (tests); all by default. */
  queues?: readonly QueueName[];
  /** How long stop() waits for active jobs before releasing them. */
  shutdownTimeoutMs?: number;
}

/**
 * The worker role: one BullMQ worker per queue running the processors of its jobs, and the
 * outbox relay that feeds them. Several processes may run this at once.
 */
export function startWorkers(
  deps: Omit<WorkerDeps, 'mailer' | 'slack'> & Partial<Pick<WorkerDeps, 'mailer' | 'slack'>>,
  options: StartWorkersOptions,
): Workers {
  const log = deps.logger.child({ component: 'workers' });
  const mailer = deps.mailer ?? createMailer(deps.config, deps.logger);
  const full: WorkerDeps = {
    ...deps,
    mailer,
    slack:
      deps.slack ??
      createSlackPoster(
        deps.config,
        createWorkspaceTokens(
          deps.config,
          createInstallationStore(deps.config, deps.orm, deps.logger),
          deps.orm,
        ),
        new WorkspaceRateLimits(deps.orm),
        deps.logger,
      ),
  };

  const run = (queue: QueueName) => (job: QueueJob) => observeJob(queue, job, () => runJob(queue, job));
  const runJob = async (queue: QueueName, job: QueueJob) => {
    const name = job.name;
    if (!isJobName(name) || jobs[name].queue !== queue) {
      throw permanentFailure(`no processor for job "${name}" on queue ${queue}`);
    }
    const parsed = jobs[name].payload.safeParse(job.data);
    if (!parsed.success)
      throw permanentFailure(`job ${name} has a malformed payload: ${parsed.error.message}`);
    const processor = processors[name] as Processor<JobName>;
    return processor(full, parsed.data as never, job);
  };

  const workers: QueueWorker[] = (options.queues ?? QUEUES).map((queue) =>
    deps.queues.createWorker(queue, run(queue), {
      ...QUEUE_SETTINGS[queue],
      shutdownTimeoutMs: options.shutdownTimeoutMs,
    }),
  );
  const relay: OutboxRelay | undefined =
    options.relay === false
      ? undefined
      : startOutboxRelay(options.databaseUrl, deps.queues, deps.logger, options.relay);

  // Schedulers live in the queue backend: re-assert them from the database on every start, so a
  // fresh Redis gets them back. Upserting is idempotent, whichever process gets there first.
  if (!options.queues || options.queues.includes('digests')) {
    void resyncDigestSchedules(full).catch((error: unknown) =>
      log.warn({ err: error }, 'could not re-assert digest schedules; they are kept from before'),
    );
  }
  log.info({ queues: workers.map((w) => w.queue), backend: deps.queues.backend }, 'workers started');

  let stopping: Promise<void> | undefined;
  return {
    ready: async () => {
      await Promise.all(workers.map((worker) => worker.ready()));
      await relay?.listening();
    },
    stop() {
      stopping ??= (async () => {
        await relay?.stop();
        await Promise.all(workers.map((worker) => worker.close()));
        mailer.close();
        log.info('workers stopped');
      })();
      return stopping;
    },
  };
}

async function resyncDigestSchedules(deps: WorkerDeps): Promise<void> {
  const teams = await queryAll<{ id: number }>(
    deps.orm.em.fork(),
    'select id from teams where digest_frequency is not null',
  );
  for (const team of teams) await syncDigestSchedule(deps.orm, deps.queues, { teamId: team.id });
}

/**
 * bench:queue — from a committed cause to a finished handler, through the outbox, the relay and
 * BullMQ, next to bare BullMQ no-op jobs (add, then process) measured in the same run on the
 * same Redis. Targets: the outbox path keeps at least 50% of the bare throughput; p99 latency
 * ≤ 250 ms.
 *
 * - Throughput: CALLERS callers issue causes back to back (saturation). A cause is a
 *   transaction that commits one outbox row (the statement enqueueJob runs); for bare BullMQ it
 *   is one `add`. "Causes alone" is the rate at which those transactions commit with nothing
 *   relaying them: the ceiling of the outbox path on this machine.
 * - Latency: causes at a steady RATE per second (well below saturation, as in service), from
 *   the moment a cause has committed (or `add` returned) to the moment its handler runs.
 *
 * The handler is a no-op on both paths. Outbox rows use the `digest.schedule` job (routing, job
 * ids and the relay are what is measured) with a no-op worker on its queue. Paths alternate
 * within each round so that drift in the machine's load hits them alike.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createLogger } from '../src/logger.ts';
import { startOutboxRelay } from '../src/outbox/relay.ts';
import { openQueues, type QueueJob } from '../src/platform/queue.ts';
import { createBenchDatabase, migratedOrm, percentile, writeResults } from './lib.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 4000);
const CALLERS = Number(process.env.BENCH_CALLERS ?? 32);
const RATE = Number(process.env.BENCH_RATE ?? 300);
const LATENCY_JOBS = Number(process.env.BENCH_LATENCY_JOBS ?? 1500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WORKER_CONCURRENCY = 50;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const BACKEND = process.env.BENCH_QUEUE_BACKEND === 'postgres' ? 'postgres' : 'redis';

interface PathResult {
  jobs: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

type Cause = (id: string) => Promise<void>;

const logger = createLogger(process.env.BENCH_LOG_LEVEL ?? 'silent');
const db = await createBenchDatabase('queue');
const orm = await migratedOrm(db, 2);
// Causes are written with plain SQL so that the ORM's CPU cost, which is not the pipeline's,
// does not slow the relay and the workers sharing this process.
const pool = new pg.Pool({ connectionString: db.url, max: CALLERS });
pool.on('error', () => {});
const queues = openQueues(
  {
    redisUrl: BACKEND === 'redis' ? REDIS_URL : undefined,
    queuePrefix: `bench-${randomBytes(3).toString('hex')}`,
  },
  db.url,
  logger,
);

/** A cause of the outbox path: a transaction that commits one outbox row, as enqueueJob writes it. */
async function commitCause(id: string): Promise<void> {
  await pool.query(
    'insert into outbox (job, payload, dedup_key, available_at, created_at) values ($1, $2::jsonb, null, now(), now())',
    ['digest.schedule', JSON.stringify({ teamId: 1, cause: id })],
  );
}

/** Tracks cause → handler latency; a handler may run before its cause's caller sees the commit return. */
function tracker(count: number) {
  const committedAt = new Map<string, number>();
  const handledEarly = new Map<string, number>();
  const latencies: number[] = [];
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const check = () => {
    if (latencies.length === count) finish();
  };
  return {
    done,
    latencies,
    committed(id: string) {
      const now = performance.now();
      const early = handledEarly.get(id);
      if (early === undefined) committedAt.set(id, now);
      else {
        handledEarly.delete(id);
        latencies.push(0);
        check();
      }
    },
    handled(id: string) {
      const now = performance.now();
      const at = committedAt.get(id);
      if (at === undefined) handledEarly.set(id, now);
      else {
        latencies.push(now - at);
        check();
      }
    },
  };
}

function summarize(latencies: number[], seconds: number): PathResult {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    jobs: sorted.length,
    seconds,
    perSecond: sorted.length / seconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
  };
}

/** Saturation: CALLERS callers back to back; time from the first cause to the last handler. */
async function saturate(count: number, cause: Cause, queue: string): Promise<PathResult> {
  const track = tracker(count);
  const worker = noopWorker(queue, track.handled);
  await worker.ready();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (next < count) {
        const id = `s${next++}`;
        await cause(id);
        track.committed(id);
      }
    }),
  );
  await track.done;
  const result = summarize(track.latencies, (performance.now() - started) / 1000);
  await worker.close();
  return result;
}

/** A steady RATE of causes per second, each started on schedule whatever the others do. */
async function paced(count: number, cause: Cause, queue: string): Promise<PathResult> {
  const track = tracker(count);
  const worker = noopWorker(queue, track.handled);
  await worker.ready();
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const id = `p${i}`;
    inFlight.push(cause(id).then(() => track.committed(id)));
  }
  await Promise.all(inFlight);
  await track.done;
  const result = summarize(track.latencies, (performance.now() - started) / 1000);
  await worker.close();
  return result;
}

function noopWorker(queue: string, handled: (id: string) => void) {
  return queues.createWorker(
    queue,
    async (job: QueueJob) => {
      handled((job.data as { cause: string }).cause);
    },
    { concurrency: WORKER_CONCURRENCY },
  );
}

/** Commits with nothing relaying them: the outbox path cannot go faster than this. */
async function causesAlone(count: number): Promise<PathResult> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (next < count) await commitCause(`alone${next++}`);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await pool.query('update outbox set dispatched_at = now() where dispatched_at is null');
  return { jobs: count, seconds, perSecond: count / seconds, p50Ms: Number.NaN, p99Ms: Number.NaN };
}

async function withRelay<T>(work: () => Promise<T>): Promise<T> {
  const relay = startOutboxRelay(db.url, queues, logger, { pollIntervalMs: 1_000 });
  await relay.listening();
  try {
    return await work();
  } finally {
    await relay.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

let bareQueue = 0;
const bareCause = (queue: string) => async (id: string) => {
  await queues.add(queue, 'noop', { cause: id });
};

try {
  // Warm connections, scripts and the JIT before timing anything.
  await saturate(300, bareCause('bench-warm'), 'bench-warm');
  await withRelay(() => saturate(300, commitCause, 'digests'));

  const runs = {
    bare: [] as PathResult[],
    outbox: [] as PathResult[],
    causesAlone: [] as PathResult[],
    bareLatency: [] as PathResult[],
    outboxLatency: [] as PathResult[],
  };
  for (let round = 0; round < ROUNDS; round++) {
    const queue = `bench-bare-${bareQueue++}`;
    runs.bare.push(await saturate(JOBS, bareCause(queue), queue));
    runs.outbox.push(await withRelay(() => saturate(JOBS, commitCause, 'digests')));
    runs.causesAlone.push(await causesAlone(JOBS));
    runs.bareLatency.push(await paced(LATENCY_JOBS, bareCause(queue), queue));
    runs.outboxLatency.push(await withRelay(() => paced(LATENCY_JOBS, commitCause, 'digests')));
  }
  const best = (list: PathResult[]) => list.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  const steadiest = (list: PathResult[]) => list.reduce((a, b) => (b.p99Ms < a.p99Ms ? b : a));
  const result = {
    backend: queues.backend,
    jobs: JOBS,
    callers: CALLERS,
    rate: RATE,
    workerConcurrency: WORKER_CONCURRENCY,
    bare: best(runs.bare),
    outbox: best(runs.outbox),
    causesAlone: best(runs.causesAlone),
    bareLatency: steadiest(runs.bareLatency),
    outboxLatency: steadiest(runs.outboxLatency),
    // Each round's paths ran back to back, under about the same load from the rest of the
    // machine; the median round is the figure (the best of each path may come from different rounds).
    perRoundRatios: runs.outbox.map((outbox, i) => outbox.perSecond / runs.bare[i]!.perSecond),
    throughputRatio: median(runs.outbox.map((outbox, i) => outbox.perSecond / runs.bare[i]!.perSecond)),
    rounds: runs,
  };
  const ms = (value: number) => `${value.toFixed(1).padStart(6)} ms`;
  const rate = (r: PathResult) => `${r.perSecond.toFixed(0).padStart(6)} jobs/s`;
  console.log(`bench:queue (${queues.backend}; best of ${ROUNDS} rounds)`);
  console.log(`throughput, ${JOBS} jobs from ${CALLERS} callers:`);
  console.log(`  bare BullMQ            ${rate(result.bare)}`);
  console.log(`  outbox→relay→BullMQ    ${rate(result.outbox)}`);
  console.log(
    `  causes alone           ${rate(result.causesAlone)}  (commits with no relay: the outbox path's ceiling)`,
  );
  console.log(`latency at ${RATE} causes/s, ${LATENCY_JOBS} jobs:`);
  console.log(
    `  bare BullMQ            p50 ${ms(result.bareLatency.p50Ms)}   p99 ${ms(result.bareLatency.p99Ms)}`,
  );
  console.log(
    `  outbox→relay→BullMQ    p50 ${ms(result.outboxLatency.p50Ms)}   p99 ${ms(result.outboxLatency.p99Ms)}`,
  );
  const percent = (ratio: number) => `${(ratio * 100).toFixed(0)}%`;
  console.log(
    `outbox / bare throughput, median round: ${percent(result.throughputRatio)} (target ≥ 50%; per round: ${result.perRoundRatios.map(percent).join(', ')}); outbox p99 ${result.outboxLatency.p99Ms.toFixed(0)} ms (target ≤ 250 ms)`,
  );
  console.log(`written to ${await writeResults('queue', result)}`);
} finally {
  await queues.close();
  await pool.end();
  await orm.close(true);
  await db.drop();
}

/**
 * bench:queue — from a committed cause to a finished handler, through the outbox, the relay and
 * BullMQ, next to bare BullMQ no-op jobs (add, then process) measured in the same run on the
 * same backend. Targets on Redis: the outbox path keeps at least 50% of the bare throughput, p99
 * latency ≤ 250 ms at 300 causes/s. On the PostgreSQL backend (BENCH_QUEUE_BACKEND=postgres, what
 * `npm start` runs without Redis): at least the bare throughput, p99 ≤ 500 ms at 100 causes/s.
 * A target is met only if every cause's handler ran exactly once.
 *
 * - Throughput: CALLERS callers issue causes back to back (saturation). A cause commits one
 *   outbox row (the statement enqueueJob runs); for bare BullMQ it is one `add`. Two outbox paths:
 *   - grouped: causes arriving together share a commit through the WriteCombiner, as the
 *     product's hot paths (ledger postings per team, charges per member) commit theirs; every
 *     cause still has its own row, job and handler run, and is answered after its commit;
 *   - one transaction per cause: each cause commits alone. "Causes alone" is the rate at which
 *     those transactions commit with nothing relaying them: that path's ceiling here.
 * - One caller: the same with a single caller issuing causes one after another.
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
import { WriteCombiner } from '../src/shared/write-combiner.ts';
import { type CpuReading, cpuPerThousand, readCpu } from './cpu.ts';
import { createBenchDatabase, median, migratedOrm, percentile, printVerdict, writeResults } from './lib.ts';

const BACKEND = process.env.BENCH_QUEUE_BACKEND === 'postgres' ? 'postgres' : 'redis';
/** The targets differ by backend: BullMQ on PostgreSQL is an order of magnitude slower than on Redis. */
const TARGETS = {
  redis: { ratio: 0.5, p99Ms: 250, rate: 300, jobs: 4000, latencyJobs: 1500 },
  postgres: { ratio: 1, p99Ms: 500, rate: 100, jobs: 1000, latencyJobs: 500 },
}[BACKEND];
const JOBS = Number(process.env.BENCH_JOBS ?? TARGETS.jobs);
const CALLERS = Number(process.env.BENCH_CALLERS ?? 32);
const ONE_CALLER_JOBS = Number(process.env.BENCH_ONE_CALLER_JOBS ?? Math.round(JOBS / 4));
const RATE = Number(process.env.BENCH_RATE ?? TARGETS.rate);
const LATENCY_JOBS = Number(process.env.BENCH_LATENCY_JOBS ?? TARGETS.latencyJobs);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WORKER_CONCURRENCY = 50;
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

interface PathResult {
  jobs: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU seconds per 1,000 jobs, by process. */
  cpu?: CpuReading;
  /** Causes whose handler ran more than once (must be 0). */
  duplicates?: number;
}

type Cause = (id: string) => Promise<void>;

const logger = createLogger(process.env.BENCH_LOG_LEVEL ?? 'silent');
const db = await createBenchDatabase('queue');
const orm = await migratedOrm(db, 2);
// Causes are written with plain SQL so that the ORM's CPU cost, which is not the pipeline's,
// does not slow the relay and the workers sharing this process.
// The pool keeps its connections: by default it closes those idle for 10 s, which here happens in
// the middle of a latency run after a saturation run, and 30 PostgreSQL backends ending (and
// starting again) at once stalls everything on 2 cores for 100–400 ms — a p99 of 200–470 ms
// instead of 30–40 ms. A service under steady load keeps its connections too.
const pool = new pg.Pool({ connectionString: db.url, max: CALLERS, idleTimeoutMillis: 0 });
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

/**
 * A cause of the grouped path: the same row, written by a batch insert for every cause that
 * arrived while the previous batch was committing (one team's hot path, as in the product).
 */
const causeBatches = new WriteCombiner<'team', string, void>(
  async (_team, ids) => {
    await pool.query(
      `insert into outbox (job, payload, dedup_key, available_at, created_at)
       select 'digest.schedule', jsonb_build_object('teamId', 1, 'cause', id), null, now(), now()
         from unnest($1::text[]) as id`,
      [ids],
    );
    return ids.map(() => ({ ok: true as const, value: undefined }));
  },
  // The same bounds as the ledger's per-team batches.
  { maxWeight: 200, weight: () => 1, lingerMs: 5 },
);
const groupedCause: Cause = (id) => causeBatches.submit('team', id);

/** Tracks cause → handler latency; a handler may run before its cause's caller sees the commit return. */
function tracker(count: number) {
  const committedAt = new Map<string, number>();
  const handledEarly = new Map<string, number>();
  const latencies: number[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
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
    /** Handlers that ran for a cause already handled: each should run exactly once. */
    get duplicates() {
      return duplicates;
    },
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
      if (seen.has(id)) {
        duplicates += 1;
        return;
      }
      seen.add(id);
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
async function saturate(count: number, cause: Cause, queue: string, callers = CALLERS): Promise<PathResult> {
  const track = tracker(count);
  const worker = noopWorker(queue, track.handled);
  await worker.ready();
  const cpuBefore = readCpu();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (next < count) {
        const id = `s${next++}`;
        await cause(id);
        track.committed(id);
      }
    }),
  );
  await track.done;
  const result = summarize(track.latencies, (performance.now() - started) / 1000);
  result.cpu = cpuPerThousand(cpuBefore, readCpu(), count);
  await worker.close();
  result.duplicates = track.duplicates;
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
  result.duplicates = track.duplicates;
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
  const cpuBefore = readCpu();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (next < count) await commitCause(`alone${next++}`);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuPerThousand(cpuBefore, readCpu(), count);
  await pool.query('update outbox set dispatched_at = now() where dispatched_at is null');
  return { jobs: count, seconds, perSecond: count / seconds, p50Ms: Number.NaN, p99Ms: Number.NaN, cpu };
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

let bareQueue = 0;
const bareCause = (queue: string) => async (id: string) => {
  await queues.add(queue, 'noop', { cause: id });
};

try {
  // Warm connections, scripts and the JIT before timing anything.
  await saturate(300, bareCause('bench-warm'), 'bench-warm');
  await withRelay(() => saturate(300, groupedCause, 'digests'));
  await withRelay(() => saturate(300, commitCause, 'digests'));
  await withRelay(() => saturate(50, groupedCause, 'digests', 1));

  const runs = {
    bare: [] as PathResult[],
    grouped: [] as PathResult[],
    single: [] as PathResult[],
    causesAlone: [] as PathResult[],
    bareOneCaller: [] as PathResult[],
    groupedOneCaller: [] as PathResult[],
    bareLatency: [] as PathResult[],
    groupedLatency: [] as PathResult[],
    singleLatency: [] as PathResult[],
  };
  for (let round = 0; round < ROUNDS; round++) {
    const queue = `bench-bare-${bareQueue++}`;
    runs.bare.push(await saturate(JOBS, bareCause(queue), queue));
    runs.grouped.push(await withRelay(() => saturate(JOBS, groupedCause, 'digests')));
    runs.single.push(await withRelay(() => saturate(JOBS, commitCause, 'digests')));
    runs.causesAlone.push(await causesAlone(JOBS));
    runs.bareOneCaller.push(await saturate(ONE_CALLER_JOBS, bareCause(queue), queue, 1));
    runs.groupedOneCaller.push(await withRelay(() => saturate(ONE_CALLER_JOBS, groupedCause, 'digests', 1)));
    runs.bareLatency.push(await paced(LATENCY_JOBS, bareCause(queue), queue));
    runs.groupedLatency.push(await withRelay(() => paced(LATENCY_JOBS, groupedCause, 'digests')));
    runs.singleLatency.push(await withRelay(() => paced(LATENCY_JOBS, commitCause, 'digests')));
  }
  // Each round's paths ran back to back, under about the same load from the rest of the machine,
  // so ratios are taken within a round. Every figure printed is the median of the rounds: the
  // throughputs and ratios the median round's (by the grouped ratio, so the figures beside the
  // ratio are the ones it was computed from); latencies the round with the median p99 of each path.
  const ratios = (list: PathResult[], of = runs.bare) =>
    list.map((path, i) => path.perSecond / of[i]!.perSecond);
  const groupedRatios = ratios(runs.grouped);
  const medianIndex = groupedRatios.map((ratio, i) => ({ ratio, i })).sort((a, b) => a.ratio - b.ratio)[
    groupedRatios.length >> 1
  ]!.i;
  const medianP99 = (list: PathResult[]) => [...list].sort((a, b) => a.p99Ms - b.p99Ms)[list.length >> 1]!;
  const oneCallerRatios = ratios(runs.groupedOneCaller, runs.bareOneCaller);
  const result = {
    backend: queues.backend,
    jobs: JOBS,
    callers: CALLERS,
    rate: RATE,
    workerConcurrency: WORKER_CONCURRENCY,
    medianRound: medianIndex + 1,
    bare: runs.bare[medianIndex]!,
    grouped: runs.grouped[medianIndex]!,
    single: runs.single[medianIndex]!,
    causesAlone: runs.causesAlone[medianIndex]!,
    bareOneCaller: runs.bareOneCaller[medianIndex]!,
    groupedOneCaller: runs.groupedOneCaller[medianIndex]!,
    bareLatency: medianP99(runs.bareLatency),
    groupedLatency: medianP99(runs.groupedLatency),
    singleLatency: medianP99(runs.singleLatency),
    groupedRatios,
    groupedRatio: groupedRatios[medianIndex]!,
    singleRatios: ratios(runs.single),
    singleRatio: median(ratios(runs.single)),
    causesAloneRatio: median(ratios(runs.causesAlone)),
    oneCallerRatios,
    oneCallerRatio: median(oneCallerRatios),
    duplicates: Object.values(runs)
      .flat()
      .reduce((sum, r) => sum + (r.duplicates ?? 0), 0),
    rounds: runs,
  };
  const ms = (value: number) => `${value.toFixed(1).padStart(6)} ms`;
  const rate = (r: PathResult) => `${r.perSecond.toFixed(0).padStart(6)} jobs/s`;
  const cpu = (r: PathResult) =>
    r.cpu
      ? `  CPU s per 1,000: node ${r.cpu.node.toFixed(2)}, postgres ${r.cpu.postgres.toFixed(2)}, redis ${r.cpu.redis.toFixed(2)}`
      : '';
  const percent = (ratio: number) => `${(ratio * 100).toFixed(0)}%`;
  const percents = (list: number[]) => list.map(percent).join(', ');
  console.log(`bench:queue (${queues.backend}; median of ${ROUNDS} rounds: round ${result.medianRound})`);
  console.log(`throughput, ${JOBS} jobs from ${CALLERS} callers:`);
  console.log(`  bare BullMQ                  ${rate(result.bare)}${cpu(result.bare)}`);
  console.log(`  outbox, grouped causes       ${rate(result.grouped)}${cpu(result.grouped)}`);
  console.log(`  outbox, one commit per cause ${rate(result.single)}${cpu(result.single)}`);
  console.log(
    `  causes alone (one commit each, no relay: that path's ceiling) ${rate(result.causesAlone)}${cpu(result.causesAlone)}`,
  );
  console.log(`one caller, ${ONE_CALLER_JOBS} jobs one after another:`);
  console.log(`  bare BullMQ                  ${rate(result.bareOneCaller)}`);
  console.log(
    `  outbox, grouped causes       ${rate(result.groupedOneCaller)}  (${percent(result.oneCallerRatio)} of bare; rounds ${percents(oneCallerRatios)})`,
  );
  console.log(`latency at ${RATE} causes/s, ${LATENCY_JOBS} jobs (round with the median p99):`);
  for (const [label, r] of [
    ['bare BullMQ                 ', result.bareLatency],
    ['outbox, grouped causes      ', result.groupedLatency],
    ['outbox, one commit per cause', result.singleLatency],
  ] as const) {
    console.log(`  ${label} p50 ${ms(r.p50Ms)}   p99 ${ms(r.p99Ms)}`);
  }
  for (const [label, list] of [
    ['bare', runs.bareLatency],
    ['grouped', runs.groupedLatency],
    ['one commit per cause', runs.singleLatency],
  ] as const) {
    console.log(`  p99 by round, ${label}: ${list.map((r) => r.p99Ms.toFixed(0)).join(', ')} ms`);
  }
  console.log(
    `outbox / bare throughput by round: grouped ${percents(groupedRatios)}; one commit per cause ${percents(result.singleRatios)} (median ${percent(result.singleRatio)}; its ceiling ${percent(result.causesAloneRatio)})`,
  );
  // Every cause's handler ran, and once: the runs wait for each, and count any second run.
  const correct = result.duplicates === 0;
  if (!correct) console.log(`handlers that ran twice for one cause: ${result.duplicates}`);
  printVerdict(
    `outbox (grouped causes) ≥ ${percent(TARGETS.ratio)} of bare BullMQ throughput`,
    result.groupedRatio >= TARGETS.ratio,
    correct,
    `${percent(result.groupedRatio)} (${rate(result.grouped).trim()} vs ${rate(result.bare).trim()})`,
  );
  printVerdict(
    `outbox (grouped causes) p99 ≤ ${TARGETS.p99Ms} ms at ${RATE} causes/s`,
    result.groupedLatency.p99Ms <= TARGETS.p99Ms,
    correct,
    `${result.groupedLatency.p99Ms.toFixed(0)} ms (bare ${result.bareLatency.p99Ms.toFixed(0)} ms)`,
  );
  console.log(`written to ${await writeResults('queue', result)}`);
} finally {
  await queues.close();
  await pool.end();
  await orm.close(true);
  await db.drop();
}

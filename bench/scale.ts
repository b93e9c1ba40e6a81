/**
 * bench:scale — jobs per second through outbox → relay → BullMQ → a no-op handler with 1 and
 * with 2 worker processes (each runs a relay and a worker, as `start:worker` does), on one Redis
 * and then on a 3-master Redis Cluster, and the ratio 2 / 1. Causes are committed as the
 * product's hot paths commit them (many outbox rows per transaction), from this process, as
 * fast as PostgreSQL takes them; the clock runs from the first commit to the last handler run.
 * CPU seconds per 1,000 jobs for the worker processes, PostgreSQL and Redis say where the limit is.
 *
 * BENCH_JOBS (default 6000), BENCH_ROUNDS (3; medians are reported), BENCH_REDIS_URL.
 * One verdict per target: two worker processes at least as fast as one (ratio 2/1 ≥ 1), met only
 * if every run handled each of its jobs exactly once.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import { startRedisCluster } from '../test/helpers/redis-cluster.ts';
import { cpuOfProcesses, readCpu } from './cpu.ts';
import { createBenchDatabase, median, migratedOrm, printVerdict, writeResults } from './lib.ts';

const JOBS = Number(process.env.BENCH_JOBS ?? 6000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const BATCH = 200;

interface Run {
  perSecond: number;
  /** Jobs the handlers ran, all workers together, once the run had settled (must equal JOBS). */
  handled: number;
  /** CPU seconds per 1,000 jobs. */
  cpu: { workers: number; postgres: number; redis: number; producer: number };
}

const db = await createBenchDatabase('scale');
const orm = await migratedOrm(db, 2);
await orm.close(true);
const pool = new pg.Pool({ connectionString: db.url, max: 4 });
const cluster = await startRedisCluster();

async function startWorkers(count: number, env: Record<string, string>): Promise<ChildProcess[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const child = fork(path.join(import.meta.dirname, 'scale-worker.ts'), {
        env: { ...process.env, DATABASE_URL: db.url, ...env },
        stdio: 'inherit',
      });
      await new Promise<void>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
        child.on('message', (message: { ready?: boolean }) => {
          if (message.ready) resolve();
        });
      });
      return child;
    }),
  );
}

async function run(workers: number, target: Record<string, string>): Promise<Run> {
  await pool.query('truncate outbox');
  const children = await startWorkers(workers, {
    ...target,
    QUEUE_PREFIX: `bench-scale-${randomBytes(3).toString('hex')}`,
  });
  const done = new Map<ChildProcess, number>();
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  for (const child of children) {
    child.on('message', (message: { done?: number }) => {
      if (message.done === undefined) return;
      done.set(child, message.done);
      if ([...done.values()].reduce((a, b) => a + b, 0) >= JOBS) finish();
    });
  }
  const pids = children.map((child) => child.pid!);
  const before = { ...readCpu(), workers: cpuOfProcesses(pids) };
  const started = performance.now();
  // Four committers, each inserting batches of rows, as the ledger's grouped commits do.
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < JOBS) {
        const from = next;
        next += BATCH;
        const count = Math.min(BATCH, JOBS - from);
        await pool.query(
          `insert into outbox (job, payload, dedup_key, available_at, created_at)
           select 'digest.schedule', jsonb_build_object('teamId', 1, 'cause', i), null, now(), now()
             from generate_series($1::int, $2::int) as i`,
          [from, from + count - 1],
        );
      }
    }),
  );
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const after = { ...readCpu(), workers: cpuOfProcesses(pids) };
  // A job run twice would show in the counts a moment later; give the reports time to arrive.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const handled = [...done.values()].reduce((a, b) => a + b, 0);
  await Promise.all(
    children.map(
      (child) =>
        new Promise<void>((resolve) => {
          child.removeAllListeners('exit');
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  const per = (a: number, b: number) => ((b - a) * 1000) / JOBS;
  return {
    perSecond: JOBS / seconds,
    handled,
    cpu: {
      workers: per(before.workers, after.workers),
      postgres: per(before.postgres, after.postgres),
      redis: per(before.redis, after.redis),
      producer: per(before.node, after.node),
    },
  };
}

const targets: Array<[string, Record<string, string>]> = [
  ['Redis', { REDIS_URL, REDIS_CLUSTER_NODES: '' }],
  ['Redis Cluster (3 masters)', { REDIS_URL: '', REDIS_CLUSTER_NODES: cluster.env }],
];
const results: Record<string, Record<string, Run>> = {};
let everyJobOnce = true;
try {
  for (const [name, target] of targets) {
    const rounds: Record<1 | 2, Run[]> = { 1: [], 2: [] };
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order so drift in the machine's load hits both alike.
      for (const workers of round % 2 ? ([2, 1] as const) : ([1, 2] as const)) {
        rounds[workers].push(await run(workers, target));
      }
    }
    everyJobOnce &&= [...rounds[1], ...rounds[2]].every((r) => r.handled === JOBS);
    const summary = (runs: Run[]): Run => ({
      perSecond: median(runs.map((r) => r.perSecond)),
      handled: Math.max(...runs.map((r) => r.handled)),
      cpu: {
        workers: median(runs.map((r) => r.cpu.workers)),
        postgres: median(runs.map((r) => r.cpu.postgres)),
        redis: median(runs.map((r) => r.cpu.redis)),
        producer: median(runs.map((r) => r.cpu.producer)),
      },
    });
    results[name] = { '1 worker': summary(rounds[1]), '2 workers': summary(rounds[2]) };
  }
} finally {
  await pool.end();
  await cluster.stop();
  await db.drop();
}

console.log(`bench:scale — ${JOBS} jobs per run, medians of ${ROUNDS} rounds`);
if (!everyJobOnce) console.log('some run did not handle each of its jobs exactly once');
for (const [name, byWorkers] of Object.entries(results)) {
  const one = byWorkers['1 worker']!;
  const two = byWorkers['2 workers']!;
  const ratio = two.perSecond / one.perSecond;
  console.log(`\n${name}: ratio 2/1 = ${ratio.toFixed(2)}`);
  for (const [label, r] of Object.entries(byWorkers)) {
    console.log(
      `  ${label.padEnd(10)} ${r.perSecond.toFixed(0).padStart(6)} jobs/s   CPU s per 1,000 jobs: workers ${r.cpu.workers.toFixed(3)}, PostgreSQL ${r.cpu.postgres.toFixed(3)}, Redis ${r.cpu.redis.toFixed(3)}, producer ${r.cpu.producer.toFixed(3)}`,
    );
  }
  printVerdict(
    `${name}: two worker processes at least as fast as one`,
    ratio >= 1,
    everyJobOnce,
    `ratio 2/1 ${ratio.toFixed(2)} (${one.perSecond.toFixed(0)} → ${two.perSecond.toFixed(0)} jobs/s)`,
  );
}
console.log(`\nresults: ${await writeResults('scale', results)}`);

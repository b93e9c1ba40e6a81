import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createLogger } from '../src/logger.ts';
import { connectOrm } from '../src/orm.ts';
import { migrate, type Orm } from '../src/platform/database.ts';

/** Benchmarks run against the machine's PostgreSQL (override with BENCH_POSTGRES_URL), in a database of their own. */
const ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createBenchDatabase(prefix: string): Promise<BenchDatabase> {
  const name = `teamops_bench_${prefix}_${randomBytes(3).toString('hex')}`;
  await admin(`create database ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => admin(`drop database if exists ${name} with (force)`) };
}

/** A migrated ORM on a fresh benchmark database. */
export async function migratedOrm(db: BenchDatabase, poolMax: number): Promise<Orm> {
  const orm = await connectOrm(db.url, createLogger('silent'), { pool: { min: 0, max: poolMax } });
  await migrate(orm, db.url, createLogger('silent'));
  return orm;
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export interface LoadResult {
  operations: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** Runs `operation` from `concurrency` callers back to back for `durationMs`, timing each call. */
export async function runLoad(
  concurrency: number,
  durationMs: number,
  operation: (caller: number, sequence: number) => Promise<unknown>,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = started + durationMs;
  let sequence = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, caller) => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        await operation(caller, sequence++);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    operations: latencies.length,
    seconds,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Writes bench/results/<name>.json (ignored by git; docs/benchmarks.md records the figures). */
export async function writeResults(name: string, results: unknown): Promise<string> {
  await mkdir(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${name}.json`);
  await writeFile(file, `${JSON.stringify({ at: new Date().toISOString(), results }, null, 2)}\n`);
  return file;
}

/**
 * One line per target. A target counts as met only when the figure meets it AND the run's
 * correctness check passed: a fast run that produced wrong books has met nothing.
 */
export function printVerdict(
  target: string,
  figureMeetsTarget: boolean,
  correct: boolean,
  figure: string,
): boolean {
  const met = figureMeetsTarget && correct;
  const why = correct ? '' : ' (correctness check FAILED)';
  console.log(`verdict: ${target}: ${met ? 'met' : 'NOT met'} at ${figure}${why}`);
  return met;
}

/**
 * Gives the database a ledger in use: a team of its own with `rows` earlier top-ups, analyzed.
 * On a fresh table the postings' prepared statements plan their idempotency-key lookup as a
 * sequential scan (right for a dozen rows), and keep that plan while a bench grows the table by
 * thousands of rows a second, until autovacuum analyzes it a minute later: the service slowed
 * round after round (0.73× to 0.19× of the baseline over 8 rounds) while the baseline, which
 * looks nothing up, did not. A deployment's transfers table is large and analyzed.
 */
export async function seedLedgerHistory(orm: Orm, teamId: number, rows = 100_000): Promise<void> {
  const connection = orm.em.getConnection();
  await connection.execute(
    `insert into transfers (team_id, kind, amount, idempotency_key, request_hash, actor_kind, via, created_at)
     select ?, 'master_topup', 1, 'history-' || g, '', 'operator', 'cli', now() - interval '30 days'
       from generate_series(1, ?) g`,
    [teamId, rows],
  );
  await connection.execute('analyze transfers');
}

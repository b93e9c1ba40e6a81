/**
 * bench:export — 1,000,000 transfers to a CSV statement through the statement service (the stream
 * GET /transfers.csv and /team export send), next to PostgreSQL's own `COPY (the same query) TO
 * STDOUT WITH (FORMAT csv)` read by the same process, both measured in the same run on the same
 * database. Targets: at least 50% of COPY's rows per second, and the process's RSS growing by
 * less than 50 MB while the statement streams (flat memory: one cursor batch at a time).
 *
 * The transfers are generated with SQL (generate_series) into a benchmark database of its own,
 * between the master and 1,000 members whose names need quoting in CSV (commas, quotes,
 * non-Latin letters). Each round reads the whole statement into a sink that counts bytes; the
 * statement and COPY rounds alternate and the medians are compared. Correctness: a separate,
 * unmeasured pass parses the whole statement with csv-parse, counts its rows and compares a sample
 * with the database.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { createServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { memberActor, operator } from '../src/shared/actor.ts';
import { microsToDecimal } from '../src/shared/money.ts';
import { STATEMENT_HEADERS } from '../src/statements/statement.service.ts';
import { createBenchDatabase, median, migratedOrm, printVerdict, writeResults } from './lib.ts';

const TRANSFERS = Number(process.env.BENCH_TRANSFERS ?? 1_000_000);
const MEMBERS = 1_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RATE_TARGET = 0.5;
const RSS_TARGET_MB = 50;
const SAMPLE_EVERY_MS = 20;

const db = await createBenchDatabase('export');
const orm = await migratedOrm(db, 10);
const client = new pg.Client({ connectionString: db.url });
await client.connect();
try {
  const services = createServices(orm, { sms: loadConfig({}).sms });
  const { team, owner } = await services.teams.setup({ name: 'Bench', owner: { name: 'Owner' }, via: 'cli' });
  await services.ledger.topUp(operator, { teamId: team.id, amount: '100' });
  const ownerActor = memberActor(owner.id, 'api');

  let t0 = performance.now();
  await client.query('set synchronous_commit = off');
  await client.query(
    `insert into members (team_id, name, username, key_id, role, status, balance, created_at, updated_at)
     select $1, case g % 3 when 0 then 'Müller, "Hans" ' || g when 1 then 'Ольга ' || g else '山田 ' || g end,
            'bench.' || g, substr(md5('bench' || g), 1, 8), 'user', 'active', 0, now(), now()
       from generate_series(1, $2::int) g`,
    [team.id, MEMBERS],
  );
  const { rows: memberRows } = await client.query<{ min: number; max: number }>(
    'select min(id) as min, max(id) as max from members where team_id = $1 and id <> $2',
    [team.id, owner.id],
  );
  const firstMember = memberRows[0]!.min;
  await client.query(
    `insert into transfers (team_id, kind, from_member_id, to_member_id, amount, idempotency_key, request_hash,
                            reason, actor_kind, actor_member_id, via, master_balance_after, member_balance_after, created_at)
     select $1, 'credit', null, $2 + g % $3, 1 + (g * 7919) % 100000000, 'bench-' || g, '',
            case when g % 10 = 0 then 'top-up, "as agreed"' end, 'member', $4, 'api',
            (g * 31) % 1000000000000, (g * 17) % 1000000000, now() - (($5 - g) * interval '1 second')
       from generate_series(1, $5::bigint) g`,
    [team.id, firstMember, MEMBERS, owner.id, TRANSFERS],
  );
  await client.query('analyze transfers');
  const { rows: countRows } = await client.query<{ n: string }>(
    'select count(*)::text as n from transfers where team_id = $1',
    [team.id],
  );
  const expectedRows = Number(countRows[0]!.n);
  console.log(
    `generated ${TRANSFERS.toLocaleString('en')} transfers in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );

  /** Reads a byte stream to its end, tracking the peak RSS above what it was at the start. */
  async function measure(
    label: string,
    run: (sink: Writable) => Promise<void>,
  ): Promise<{ seconds: number; bytes: number; rssGrowthMb: number }> {
    globalThis.gc?.();
    const baseline = process.memoryUsage.rss();
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, SAMPLE_EVERY_MS);
    let bytes = 0;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        callback();
      },
    });
    t0 = performance.now();
    await run(sink);
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage.rss());
    const rssGrowthMb = (peak - baseline) / 1024 / 1024;
    console.log(
      `${label}: ${(expectedRows / seconds).toFixed(0)} rows/s, ${(bytes / 1024 / 1024).toFixed(0)} MB in ${seconds.toFixed(2)} s, RSS +${rssGrowthMb.toFixed(1)} MB`,
    );
    return { seconds, bytes, rssGrowthMb };
  }

  const statementRound = () =>
    measure('statement', async (sink) => {
      const statement = await services.statements.open(ownerActor, 'transfers');
      await pipeline(statement.csv, sink);
      if (statement.rowCount() !== expectedRows)
        throw new Error(`the statement had ${statement.rowCount()} rows, not ${expectedRows}`);
    });

  // The same rows, joins and order as the statement's query; PostgreSQL writes the CSV itself.
  const copySql = `copy (select x.id, x.kind, x.amount, x.from_member_id, f.name, x.to_member_id, t.name, x.reason,
                                x.via, x.master_balance_after, x.member_balance_after, x.created_at
                           from transfers x
                           left join members f on f.id = x.from_member_id
                           left join members t on t.id = x.to_member_id
                          where x.team_id = ${Number(team.id)}
                          order by x.id) to stdout with (format csv, header)`;
  const copyRound = () =>
    measure('COPY', async (sink) => {
      const copyClient = new pg.Client({ connectionString: db.url });
      await copyClient.connect();
      try {
        await pipeline(copyClient.query(copyTo(copySql)), sink);
      } finally {
        await copyClient.end();
      }
    });

  const statementRuns: Awaited<ReturnType<typeof measure>>[] = [];
  const copyRuns: Awaited<ReturnType<typeof measure>>[] = [];
  // One of each first, unmeasured: warms the caches and the JIT for both.
  await statementRound();
  await copyRound();
  for (let round = 0; round < ROUNDS; round++) {
    statementRuns.push(await statementRound());
    copyRuns.push(await copyRound());
  }

  // Correctness, unmeasured: the whole statement parsed back, row count and a sample against the database.
  const statement = await services.statements.open(ownerActor, 'transfers');
  const sampleIds = new Set<string>();
  const sample = new Map<string, Record<string, string>>();
  let parsedRows = 0;
  let headerOk = false;
  await pipeline(
    statement.csv,
    parse({
      columns: (header: string[]) => {
        headerOk = header.join() === STATEMENT_HEADERS.transfers.join();
        return header;
      },
    }),
    new Writable({
      objectMode: true,
      write(record: Record<string, string>, _encoding, callback) {
        parsedRows += 1;
        if (parsedRows % 99_991 === 1) {
          sampleIds.add(record.id!);
          sample.set(record.id!, record);
        }
        callback();
      },
    }),
  );
  const { rows: truth } = await client.query<{
    id: string;
    amount: string;
    to_member_name: string;
    reason: string | null;
    created_at: Date;
  }>(
    `select x.id::text, x.amount::text, t.name as to_member_name, x.reason, x.created_at
       from transfers x left join members t on t.id = x.to_member_id where x.id = any($1::bigint[])`,
    [[...sampleIds]],
  );
  const sampleOk =
    truth.length === sampleIds.size &&
    truth.every((row) => {
      const parsed = sample.get(row.id)!;
      return (
        parsed.amount === microsToDecimal(BigInt(row.amount)) &&
        parsed.to_member_name === (row.to_member_name ?? '') &&
        parsed.reason === (row.reason ?? '') &&
        parsed.created_at === row.created_at.toISOString()
      );
    });
  const correct = headerOk && parsedRows === expectedRows && sampleOk;
  console.log(
    `correctness: ${parsedRows.toLocaleString('en')} rows parsed of ${expectedRows.toLocaleString('en')}, header ${headerOk ? 'ok' : 'WRONG'}, sample of ${truth.length} ${sampleOk ? 'matches' : 'DIFFERS from'} the database`,
  );

  const statementRate = expectedRows / median(statementRuns.map((r) => r.seconds));
  const copyRate = expectedRows / median(copyRuns.map((r) => r.seconds));
  const ratio = statementRate / copyRate;
  const rssGrowth = median(statementRuns.map((r) => r.rssGrowthMb));
  const maxRssGrowth = Math.max(...statementRuns.map((r) => r.rssGrowthMb));
  console.log(
    `medians of ${ROUNDS} rounds: statement ${statementRate.toFixed(0)} rows/s, COPY ${copyRate.toFixed(0)} rows/s (${(ratio * 100).toFixed(0)}%); statement RSS growth median ${rssGrowth.toFixed(1)} MB, max ${maxRssGrowth.toFixed(1)} MB`,
  );
  printVerdict(
    `statement ≥ ${RATE_TARGET * 100}% of COPY's rate`,
    ratio >= RATE_TARGET,
    correct,
    `${(ratio * 100).toFixed(0)}% (${statementRate.toFixed(0)} vs ${copyRate.toFixed(0)} rows/s)`,
  );
  printVerdict(
    `RSS growth < ${RSS_TARGET_MB} MB while streaming`,
    maxRssGrowth < RSS_TARGET_MB,
    correct,
    `${maxRssGrowth.toFixed(1)} MB (largest of ${ROUNDS} rounds)`,
  );
  const file = await writeResults('export', {
    transfers: expectedRows,
    rounds: ROUNDS,
    statement: statementRuns,
    copy: copyRuns,
    statementRowsPerSecond: statementRate,
    copyRowsPerSecond: copyRate,
    ratio,
    rssGrowthMbMedian: rssGrowth,
    rssGrowthMbMax: maxRssGrowth,
    correct,
  });
  console.log(`results: ${file}`);
} finally {
  await client.end();
  await orm.close(true);
  if (process.env.BENCH_KEEP_DB) console.log(`kept ${db.url}`);
  else await db.drop();
}

/**
 * bench:stats — statistics for one member over 10 million messages, served by the stats service
 * from the daily rollup, next to the same figures aggregated over the message log, both
 * measured in the same run on the same database. Targets: p95 ≤ 20 ms, and at least 100× faster
 * than the aggregate over the log.
 *
 * The messages are generated with SQL (generate_series) into a benchmark database of its own:
 * one member, spread over 365 days, with the product's indexes. The rollup is then built from
 * the log once and checked to equal it (in the product it is kept in step by every charge and
 * status change instead).
 */
import pg from 'pg';
import { createServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { memberActor, operator } from '../src/shared/actor.ts';
import type { StatsFilters } from '../src/stats/stats.service.ts';
import { createBenchDatabase, median, migratedOrm, percentile, printVerdict, writeResults } from './lib.ts';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 10_000_000);
const DAYS = 365;
/** Samples of each stats question per round. */
const STATS_RUNS = Number(process.env.BENCH_STATS_RUNS ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const P95_TARGET_MS = 20;
const RATIO_TARGET = 100;

const started = performance.now();
const db = await createBenchDatabase('stats');
const orm = await migratedOrm(db, 10);
const client = new pg.Client({ connectionString: db.url });
await client.connect();
try {
  const services = createServices(orm, { sms: loadConfig({}).sms });
  const { team, owner } = await services.teams.setup({ name: 'Bench', owner: { name: 'Owner' }, via: 'cli' });
  await services.ledger.topUp(operator, { teamId: team.id, amount: '100' });
  const ownerActor = memberActor(owner.id, 'api');
  const { member } = await services.members.create(ownerActor, { name: 'Busy sender' });
  await services.ledger.credit(ownerActor, { member: { id: member.id }, amount: '1' });

  // One charge transfer stands for all generated messages; the foreign keys are checked again
  // after the load, which is faster than checking each of the 10 million rows as it goes in.
  const { rows } = await client.query<{ id: string }>(
    `insert into transfers (team_id, kind, from_member_id, amount, idempotency_key, request_hash, actor_kind, via, created_at)
     values ($1, 'message_charge', $2, 1, 'bench-generated', '', 'system', 'worker', now()) returning id`,
    [team.id, member.id],
  );
  const transferId = rows[0]!.id;
  const secondaryIndexes = await client.query<{ name: string; definition: string }>(
    `select indexname as name, indexdef as definition from pg_indexes
      where tablename = 'messages' and indexname <> 'messages_pkey'`,
  );
  const foreignKeys = await client.query<{ name: string; definition: string }>(
    `select conname as name, pg_get_constraintdef(oid) as definition from pg_constraint
      where conrelid = 'messages'::regclass and contype = 'f'`,
  );
  for (const fk of foreignKeys.rows) await client.query(`alter table messages drop constraint ${fk.name}`);
  for (const index of secondaryIndexes.rows) await client.query(`drop index ${index.name}`);

  let t0 = performance.now();
  await client.query('set synchronous_commit = off');
  await client.query("set maintenance_work_mem = '256MB'");
  // Statuses: 90% delivered, 5% failed (refunded), 5% still sent; 1 to 3 parts at 0.05 each.
  await client.query(
    `insert into messages (team_id, member_id, recipient, body, encoding, parts, unit_price, cost, status, provider,
                           provider_message_id, charge_transfer_id, refunded_at, created_at, sent_at, finished_at)
     select $1, $2, '+4917' || lpad((g % 100000000)::text, 9, '0'), 'generated', 'gsm7', 1 + g % 3, 50000,
            (1 + g % 3) * 50000,
            case when g % 20 = 0 then 'failed' when g % 20 = 1 then 'sent' else 'delivered' end,
            'sandbox', 'sandbox-' || g, $3,
            case when g % 20 = 0 then ts + interval '5 seconds' end,
            ts, ts + interval '1 second',
            case when g % 20 <> 1 then ts + interval '5 seconds' end
       from generate_series(1, $4::int) as g,
            lateral (select date_trunc('day', now()) - ((g % $5) * interval '1 day')
                            + ((g::bigint * 7919) % 86400) * interval '1 second' as ts) as t`,
    [team.id, member.id, transferId, MESSAGES, DAYS],
  );
  const generateSeconds = (performance.now() - t0) / 1000;
  console.log(`generated ${MESSAGES.toLocaleString('en')} messages in ${generateSeconds.toFixed(0)} s`);

  t0 = performance.now();
  for (const index of secondaryIndexes.rows) await client.query(index.definition);
  for (const fk of foreignKeys.rows)
    await client.query(`alter table messages add constraint ${fk.name} ${fk.definition}`);
  await client.query(
    `insert into message_stats_daily (member_id, day, team_id, messages, parts, cost, refunded, delivered, failed)
     select member_id, (created_at at time zone 'UTC')::date, team_id, count(*), sum(parts), sum(cost),
            coalesce(sum(cost) filter (where refunded_at is not null), 0),
            count(*) filter (where status = 'delivered'), count(*) filter (where status = 'failed')
       from messages group by 1, 2, 3`,
  );
  await client.query('vacuum analyze messages');
  await client.query('vacuum analyze message_stats_daily');
  console.log(
    `indexes, foreign keys, rollup and vacuum in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
  );

  const today = new Date().toISOString().slice(0, 10);
  const from = new Date(Date.now() - (DAYS - 1) * 86_400_000).toISOString().slice(0, 10);
  const filters: StatsFilters = { member: { id: member.id }, from, to: today };
  const logAggregate = `select count(*) as messages, sum(parts) as parts, sum(cost) as charged,
            coalesce(sum(cost) filter (where refunded_at is not null), 0) as refunded,
            count(*) filter (where status = 'delivered') as delivered,
            count(*) filter (where status = 'failed') as failed
       from messages
      where member_id = $1 and created_at >= $2::date and created_at < $3::date + 1`;

  // Same answer both ways, or the comparison means nothing.
  const fromLog = (await client.query(logAggregate, [member.id, from, today])).rows[0];
  const fromRollup = await services.stats.query(ownerActor, filters);
  const m = fromRollup.members[0]!;
  const equal =
    Number(fromLog.messages) === m.messages &&
    Number(fromLog.parts) === m.parts &&
    BigInt(fromLog.charged) === m.charged &&
    BigInt(fromLog.refunded) === m.refunded &&
    Number(fromLog.delivered) === m.delivered &&
    Number(fromLog.failed) === m.failed;
  console.log(`rollup equals the log: ${equal ? 'yes' : 'NO'} (${m.messages.toLocaleString('en')} messages)`);

  const time = async (runs: number, work: () => Promise<unknown>): Promise<Timing> => {
    const samples: number[] = [];
    for (let i = 0; i < runs; i++) {
      const s = performance.now();
      await work();
      samples.push(performance.now() - s);
    }
    samples.sort((a, b) => a - b);
    return {
      runs,
      minMs: samples[0]!,
      p50Ms: percentile(samples, 0.5),
      p95Ms: percentile(samples, 0.95),
      maxMs: samples[samples.length - 1]!,
      samples,
    };
  };

  // Rounds: each measures the service (one total, then day by day) and the log aggregate back to
  // back and gives its own p95 and ratio; the machine is shared, so a burst of someone else's
  // load lands in one round, not in the verdict, which is the median round. Within a round the
  // service is measured in a block (after a warm-up call) rather than interleaved with the log
  // scan, which would evict the rollup's pages between samples.
  const rounds: Array<{ service: Timing; serviceByDay: Timing; log: Timing; p95Ms: number; ratio: number }> =
    [];
  for (let round = 0; round < ROUNDS; round++) {
    await services.stats.query(ownerActor, filters);
    const service = await time(STATS_RUNS, () => services.stats.query(ownerActor, filters));
    const serviceByDay = await time(STATS_RUNS, () =>
      services.stats.query(ownerActor, { ...filters, groupBy: 'day' }),
    );
    const log = await time(1, () => client.query(logAggregate, [member.id, from, today]));
    const p95Ms = Math.max(service.p95Ms, serviceByDay.p95Ms);
    // The log's time against the service's 95th percentile: the ratio can only be understated.
    rounds.push({ service, serviceByDay, log, p95Ms, ratio: log.minMs / p95Ms });
    console.log(
      `round ${round + 1}: one total p50 ${service.p50Ms.toFixed(2)} / p95 ${service.p95Ms.toFixed(2)} ms, ` +
        `day by day p50 ${serviceByDay.p50Ms.toFixed(2)} / p95 ${serviceByDay.p95Ms.toFixed(2)} ms, ` +
        `log ${log.minMs.toFixed(0)} ms, ${(log.minMs / p95Ms).toFixed(0)}×`,
    );
  }
  const p95Ms = median(rounds.map((r) => r.p95Ms));
  const ratio = median(rounds.map((r) => r.ratio));
  const allSamples = rounds
    .flatMap((r) => [...r.service.samples, ...r.serviceByDay.samples])
    .sort((a, b) => a - b);
  console.log(
    `median round of ${ROUNDS} (one caller): p95 ${p95Ms.toFixed(2)} ms, ${ratio.toFixed(0)}× faster than the log; ` +
      `p95 over all ${allSamples.length} samples ${percentile(allSamples, 0.95).toFixed(2)} ms`,
  );
  // Fast figures over a rollup that differs from the log have met nothing.
  printVerdict(`p95 ≤ ${P95_TARGET_MS} ms`, p95Ms <= P95_TARGET_MS, equal, `${p95Ms.toFixed(2)} ms`);
  printVerdict(
    `≥ ${RATIO_TARGET}× faster than the log`,
    ratio >= RATIO_TARGET,
    equal,
    `${ratio.toFixed(0)}×`,
  );
  const totalSeconds = (performance.now() - started) / 1000;
  console.log(`whole run ${totalSeconds.toFixed(0)} s`);
  if (!equal) process.exitCode = 1;
  console.log(
    `results written to ${await writeResults('stats', {
      messages: MESSAGES,
      days: DAYS,
      generateSeconds,
      totalSeconds,
      rollupEqualsLog: equal,
      rounds: rounds.map(({ service, serviceByDay, log, p95Ms, ratio }) => ({
        service: { ...service, samples: undefined },
        serviceByDay: { ...serviceByDay, samples: undefined },
        logMs: log.minMs,
        p95Ms,
        ratio,
      })),
      p95Ms,
      ratio,
      p95AllSamplesMs: percentile(allSamples, 0.95),
      targets: { p95Ms: P95_TARGET_MS, ratio: RATIO_TARGET },
    })}`,
  );
} finally {
  await client.end();
  await orm.close(true);
  await db.drop();
}

interface Timing {
  runs: number;
  minMs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  samples: number[];
}

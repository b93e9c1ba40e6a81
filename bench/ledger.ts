/**
 * bench:ledger — credits and debits per second through the ledger service against one master
 * account, with 1, 8 and 32 concurrent callers, next to a raw-SQL baseline measured in the
 * same run on the same tables: one guarded two-row update plus one insert per transaction.
 * Targets: one caller alone does at least 0.6× the baseline; at 8 callers at least 1.0×.
 * Afterwards it checks the books: money conserved, one transfer and one audit event per
 * service call, one transfer per baseline call. `BENCH_CALLERS=1,8` picks concurrencies.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createServices } from '../src/app.ts';
import { memberActor, operator } from '../src/shared/actor.ts';
import {
  createBenchDatabase,
  type LoadResult,
  migratedOrm,
  printVerdict,
  runLoad,
  seedLedgerHistory,
  writeResults,
} from './lib.ts';

const CONCURRENCY = (process.env.BENCH_CALLERS ?? '1,8,32').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
/** Short rounds, each measuring both back to back; the verdict is on the median round (the machine is shared and noisy). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MEMBERS = 64;

const db = await createBenchDatabase('ledger');
const orm = await migratedOrm(db, 40);
const pool = new pg.Pool({ connectionString: db.url, max: 40 });
try {
  const services = createServices(orm);
  const { team, owner } = await services.teams.setup({ name: 'Bench', owner: { name: 'Owner' }, via: 'cli' });
  const history = await services.teams.setup({ name: 'History', owner: { name: 'Owner' }, via: 'cli' });
  await seedLedgerHistory(orm, history.team.id);
  await services.ledger.topUp(operator, { teamId: team.id, amount: '100000000' });
  const ownerActor = memberActor(owner.id, 'api');
  const members: number[] = [];
  for (let i = 0; i < MEMBERS; i++) {
    const { member } = await services.members.create(ownerActor, { name: `m${i}` });
    await services.ledger.credit(ownerActor, { member: { id: member.id }, amount: '100000' });
    members.push(member.id);
  }
  const memberFor = (caller: number, sequence: number) => members[(caller * 7 + sequence) % MEMBERS]!;

  // The baseline: what one credit costs when written by hand, with nothing around it.
  const baseline = async (caller: number, sequence: number) => {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const debited = await client.query(
        'update teams set master_balance = master_balance - $1 where id = $2 and master_balance >= $1',
        [10_000, team.id],
      );
      if (debited.rowCount !== 1) throw new Error('baseline ran out of money');
      await client.query('update members set balance = balance + $1 where id = $2', [
        10_000,
        memberFor(caller, sequence),
      ]);
      await client.query(
        `insert into transfers (team_id, kind, to_member_id, amount, idempotency_key, request_hash, actor_kind, via, created_at)
         values ($1, 'credit', $2, $3, $4, '', 'operator', 'cli', now())`,
        [team.id, memberFor(caller, sequence), 10_000, randomUUID()],
      );
      await client.query('commit');
    } catch (error) {
      await client.query('rollback');
      throw error;
    } finally {
      client.release();
    }
  };

  // The product: authorization, validation, idempotency, audit and the balance-low check included.
  const service = (caller: number, sequence: number) =>
    services.ledger[sequence % 2 === 0 ? 'credit' : 'debit'](ownerActor, {
      member: { id: memberFor(caller, sequence) },
      amount: '0.01',
      idempotencyKey: randomUUID(),
    });

  // Everything written before this point is setup, not load.
  const {
    rows: [marks],
  } = await pool.query<{ transfer: string; audit: string }>(
    'select (select coalesce(max(id), 0) from transfers) as transfer, (select coalesce(max(id), 0) from audit_events) as audit',
  );
  const rows: Array<{
    callers: number;
    baseline: LoadResult;
    service: LoadResult;
    ratio: number;
    roundRatios: number[];
    allRuns: { baseline: LoadResult[]; service: LoadResult[] };
  }> = [];
  for (const callers of CONCURRENCY) {
    const runs: { baseline: LoadResult[]; service: LoadResult[] } = { baseline: [], service: [] };
    for (let round = 0; round < ROUNDS; round++) {
      runs.baseline.push(await runLoad(callers, SECONDS * 1000, baseline));
      runs.service.push(await runLoad(callers, SECONDS * 1000, service));
    }
    const roundRatios = runs.service.map((r, i) => r.perSecond / runs.baseline[i]!.perSecond);
    const medianRound = [...roundRatios.keys()].sort((a, b) => roundRatios[a]! - roundRatios[b]!)[
      Math.floor(ROUNDS / 2)
    ]!;
    const row = {
      callers,
      baseline: runs.baseline[medianRound]!,
      service: runs.service[medianRound]!,
      ratio: roundRatios[medianRound]!,
      roundRatios,
      allRuns: runs,
    };
    rows.push(row);
    console.log(
      `${String(callers).padStart(2)} callers: service ${row.service.perSecond.toFixed(0).padStart(5)}/s ` +
        `(p99 ${row.service.p99Ms.toFixed(1)} ms)  baseline ${row.baseline.perSecond.toFixed(0).padStart(5)}/s ` +
        `(p99 ${row.baseline.p99Ms.toFixed(1)} ms)  median ratio ${row.ratio.toFixed(2)}×  ` +
        `(rounds ${roundRatios.map((r) => r.toFixed(2)).join(', ')})`,
    );
  }
  const books = await checkBooks(
    rows.reduce((n, r) => n + r.allRuns.service.reduce((m, x) => m + x.operations, 0), 0),
    rows.reduce((n, r) => n + r.allRuns.baseline.reduce((m, x) => m + x.operations, 0), 0),
  );
  console.log(`ledger check: ${books.summary}: ${books.correct ? 'consistent' : 'INCONSISTENT'}`);
  if (!books.correct) process.exitCode = 1;
  for (const [callers, target] of [
    [1, 0.6],
    [8, 1.0],
  ] as const) {
    const row = rows.find((r) => r.callers === callers);
    if (!row) continue;
    printVerdict(
      `${callers} caller${callers === 1 ? '' : 's'} ≥ ${target.toFixed(1)}× the raw-SQL baseline (median round of ${ROUNDS})`,
      row.ratio >= target,
      books.correct,
      `${row.ratio.toFixed(2)}× (service ${row.service.perSecond.toFixed(0)}/s, p50 ${row.service.p50Ms.toFixed(2)} ms; ` +
        `baseline ${row.baseline.perSecond.toFixed(0)}/s, p50 ${row.baseline.p50Ms.toFixed(2)} ms)`,
    );
  }
  console.log(
    `results written to ${await writeResults('ledger', {
      secondsPerRun: SECONDS,
      rounds: ROUNDS,
      rows: rows.map(({ allRuns: _, ...row }) => row),
      books,
    })}`,
  );

  /**
   * The books after the run: every micro-unit topped up is on the master balance or a member's,
   * the service wrote one transfer and one audit event per call, the baseline one transfer.
   */
  async function checkBooks(serviceCalls: number, baselineCalls: number) {
    const {
      rows: [row],
    } = await pool.query<Record<string, string>>(
      `select (select master_balance from teams where id = $1) + (select coalesce(sum(balance), 0) from members where team_id = $1)
                - (select coalesce(sum(amount), 0) from transfers where team_id = $1 and kind = 'master_topup') as drift,
              (select count(*) from transfers where team_id = $1 and actor_kind = 'member' and kind in ('credit', 'debit') and id > $2) as service_transfers,
              (select count(*) from audit_events where team_id = $1 and action in ('ledger.credit', 'ledger.debit') and id > $3) as service_audits,
              (select count(*) from transfers where team_id = $1 and actor_kind = 'operator' and kind = 'credit' and id > $2) as baseline_transfers`,
      [team.id, marks!.transfer, marks!.audit],
    );
    const drift = BigInt(row!.drift!);
    const correct =
      drift === 0n &&
      Number(row!.service_transfers) === serviceCalls &&
      Number(row!.service_audits) === serviceCalls &&
      Number(row!.baseline_transfers) === baselineCalls;
    return {
      correct,
      summary:
        `drift ${drift} µ; service ${serviceCalls} calls, ${row!.service_transfers} transfers, ${row!.service_audits} audit events; ` +
        `baseline ${baselineCalls} calls, ${row!.baseline_transfers} transfers`,
    };
  }
} finally {
  await pool.end();
  await orm.close(true);
  await db.drop();
}

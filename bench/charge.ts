/**
 * bench:charge — messages charged per second for ONE member (a hot row), through the messaging
 * service and through POST /api/v1/sms, next to a raw-SQL baseline measured in the same run: one
 * charge per transaction, written by hand as a single statement (guarded balance update, charge
 * transfer, message row, statistics rollup) — the same rows, none of the product's checks.
 * Targets: with 64 callers the service charges at least 5× the baseline, by grouping concurrent
 * charges of one member into one transaction; one caller alone at least 0.6× the baseline alone;
 * through HTTP, 64 clients of POST /sms get at least 80% of the requests per second an
 * authenticated no-op route on the same router gets. A single keep-alive client's p50 for
 * POST /sms and POST /members/{id}/credit is printed next to the no-op route's. Afterwards it
 * checks that not a micro-unit is missing or doubled; a target is met only when that holds.
 */
import { randomUUID } from 'node:crypto';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import express from 'express';
import pg from 'pg';
import { type AppDeps, createServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import * as membersRoutes from '../src/http/api/members.routes.ts';
import * as messagingRoutes from '../src/http/api/messaging.routes.ts';
import { createApiRouter } from '../src/http/api/router.ts';
import { createLogger } from '../src/logger.ts';
import { queryOne } from '../src/platform/sql.ts';
import { memberActor, operator } from '../src/shared/actor.ts';
import { cpuPerThousand, readCpu } from './cpu.ts';
import {
  createBenchDatabase,
  type LoadResult,
  median,
  migratedOrm,
  printVerdict,
  runLoad,
  seedLedgerHistory,
  writeResults,
} from './lib.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Concurrent HTTP clients of the one member: what a busy sub-account's API traffic looks like. */
const HTTP_CALLERS = 64;
const PRICE = '0.01';
const RECIPIENT = '+4917012345678';
const TARGET = 5;
const ONE_CALLER_TARGET = 0.6;
const HTTP_TARGET = 0.8;
const WARM_UP_MS = 2_000;

interface HttpOrder {
  url: string;
  key: string;
  body: string;
  callers: number;
  ms: number;
}

let loadThread: Worker | undefined;

if (isMainThread) await main();
else if ((workerData as { role?: string }).role === 'http-load') httpLoadThread();

async function main(): Promise<void> {
  const db = await createBenchDatabase('charge');
  const orm = await migratedOrm(db, 16);
  const pool = new pg.Pool({ connectionString: db.url, max: 16 });
  let server: Server | undefined;
  try {
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    const services = createServices(orm, { sms: config.sms });
    const {
      team,
      owner,
      apiKey: ownerKey,
    } = await services.teams.setup({
      name: 'Bench',
      owner: { name: 'Owner' },
      via: 'cli',
    });
    await services.ledger.topUp(operator, { teamId: team.id, amount: '10000000' });
    const history = await services.teams.setup({ name: 'History', owner: { name: 'Owner' }, via: 'cli' });
    await seedLedgerHistory(orm, history.team.id);
    const ownerActor = memberActor(owner.id, 'api');
    const { member, apiKey } = await services.members.create(ownerActor, { name: 'Hot sender' });
    await services.ledger.credit(ownerActor, { member: { id: member.id }, amount: '5000000' });
    await services.messaging.setPrice(operator, { teamId: team.id, prefix: 'default', price: PRICE });
    const sender = memberActor(member.id, 'api');
    // Credited through POST /members/{id}/credit by a single client: another member, so the
    // sender's balance check below stays about charges alone.
    const { member: credited } = await services.members.create(ownerActor, { name: 'Credited' });
    const before = await balances(orm, member.id, team.id);

    const baseline = async () => {
      const { rowCount } = await pool.query(
        `with charged as (
           update members set balance = balance - $1, updated_at = now() where id = $2 and balance >= $1
           returning team_id, balance
         ),
         transfer as (
           insert into transfers (team_id, kind, from_member_id, amount, idempotency_key, request_hash, actor_kind,
                                  actor_member_id, via, member_balance_after, created_at)
           select team_id, 'message_charge', $2, $1, $3, '', 'member', $2, 'api', balance, now() from charged
           returning id, team_id
         ),
         message as (
           insert into messages (team_id, member_id, recipient, body, encoding, parts, unit_price, cost, status, provider,
                                 charge_transfer_id, created_at)
           select team_id, $2, $4, 'baseline', 'gsm7', 1, $1, $1, 'queued', 'sandbox', id, now() from transfer
         )
         insert into message_stats_daily as s (member_id, day, team_id, messages, parts, cost)
         select $2, (now() at time zone 'UTC')::date, team_id, 1, 1, $1 from transfer
         on conflict (member_id, day) do update
           set messages = s.messages + 1, parts = s.parts + 1, cost = s.cost + excluded.cost`,
        [10_000, member.id, `bench-${randomUUID()}`, RECIPIENT],
      );
      if (rowCount !== 1) throw new Error('baseline ran out of money');
    };
    const service = () => services.messaging.send(sender, { to: RECIPIENT, message: 'bench message' });

    const app = express();
    const deps: AppDeps = { config, logger: createLogger('error'), orm, services };
    // The no-op route shows what the HTTP layer alone (Express, JSON, API-key check) can carry here.
    const noop = {
      register: (router: express.Router) => router.post('/noop', (_req, res) => res.status(202).json({})),
    };
    app.use('/api/v1', createApiRouter(deps, [messagingRoutes, membersRoutes, noop]));
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
    const sms = (ms: number): HttpOrder => ({
      url: `${api}/sms`,
      key: apiKey,
      body: JSON.stringify({ to: RECIPIENT, message: 'bench message over http' }),
      callers: HTTP_CALLERS,
      ms,
    });
    const noopOrder = (ms: number): HttpOrder => ({ ...sms(ms), url: `${api}/noop`, body: '{}' });
    const alone = (order: HttpOrder): HttpOrder => ({ ...order, callers: 1 });
    const creditOrder = (ms: number): HttpOrder => ({
      url: `${api}/members/${credited.id}/credit`,
      key: ownerKey,
      body: JSON.stringify({ amount: '0.01' }),
      callers: 1,
      ms,
    });

    // Untimed warm-up of all three paths: JIT, connection pools, the load thread.
    await runLoad(8, WARM_UP_MS, baseline);
    await runLoad(64, WARM_UP_MS, service);
    await runHttpLoad(sms(WARM_UP_MS));
    await runHttpLoad(noopOrder(WARM_UP_MS));
    // Planner statistics as a running system has them (autovacuum analyzes tables as they grow);
    // a table that grew from empty a second ago still looks empty to the planner.
    await pool.query('analyze');

    // Each round measures everything back to back and yields its own ratios; the machine is
    // shared, so a burst of someone else's load would skew a single long run either way. The
    // verdict is the median round. The baseline's denominator is its better concurrency.
    const rounds: Round[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const ms = SECONDS * 1000;
      const baseline1 = await runLoad(1, ms, baseline);
      const baseline64 = await runLoad(64, ms, baseline);
      const service1 = await runLoad(1, ms, service);
      const service64 = await measuringCpu(() => runLoad(64, ms, service));
      const http64 = await measuringCpu(() => runHttpLoad(sms(ms)));
      const httpNoop64 = await measuringCpu(() => runHttpLoad(noopOrder(ms)));
      const httpSms1 = await runHttpLoad(alone(sms(ms)));
      const httpCredit1 = await runHttpLoad(creditOrder(ms));
      const httpNoop1 = await runHttpLoad(alone(noopOrder(ms)));
      const best = Math.max(baseline1.perSecond, baseline64.perSecond);
      rounds.push({
        baseline1,
        baseline64,
        service1,
        service64,
        http64,
        httpNoop64,
        httpSms1,
        httpCredit1,
        httpNoop1,
        serviceRatio: service64.perSecond / best,
        httpCeiling: compositionCeiling(httpNoop64, service64),
        httpRatio: http64.perSecond / best,
        oneCallerRatio: service1.perSecond / baseline1.perSecond,
        httpOfNoop: http64.perSecond / httpNoop64.perSecond,
      });
      console.log(
        `round ${round + 1}: baseline 1 caller ${fmt(baseline1)}, 64 callers ${fmt(baseline64)} | ` +
          `service 1 caller ${fmt(service1)}, 64 callers ${fmt(service64)} | http 64 callers ${fmt(http64)} ` +
          `(no-op route ${fmt(httpNoop64)}) | ` +
          `service ${(service64.perSecond / best).toFixed(1)}×, http ${(http64.perSecond / best).toFixed(1)}×, ` +
          `one caller ${(service1.perSecond / baseline1.perSecond).toFixed(2)}×, ` +
          `http/no-op ${((100 * http64.perSecond) / httpNoop64.perSecond).toFixed(0)}% | one keep-alive client p50: ` +
          `sms ${httpSms1.p50Ms.toFixed(2)} ms, credit ${httpCredit1.p50Ms.toFixed(2)} ms, no-op ${httpNoop1.p50Ms.toFixed(2)} ms`,
      );
      console.log(
        `         CPU µs per request (node + postgres): service 64 callers ${cpuText(service64)}, ` +
          `POST /sms ${cpuText(http64)}, no-op route ${cpuText(httpNoop64)}; ` +
          `POST /sms could reach at most ${(100 * rounds.at(-1)!.httpCeiling).toFixed(0)}% of the no-op route`,
      );
    }
    const serviceRatio = median(rounds.map((r) => r.serviceRatio));
    const httpRatio = median(rounds.map((r) => r.httpRatio));
    const oneCallerRatio = median(rounds.map((r) => r.oneCallerRatio));
    const httpOfNoop = median(rounds.map((r) => r.httpOfNoop));
    const httpCeiling = median(rounds.map((r) => r.httpCeiling));
    const medians = {
      baseline1: median(rounds.map((r) => r.baseline1.perSecond)),
      baseline64: median(rounds.map((r) => r.baseline64.perSecond)),
      service1: median(rounds.map((r) => r.service1.perSecond)),
      service64: median(rounds.map((r) => r.service64.perSecond)),
      http64: median(rounds.map((r) => r.http64.perSecond)),
      httpNoop64: median(rounds.map((r) => r.httpNoop64.perSecond)),
      httpSms1P50Ms: median(rounds.map((r) => r.httpSms1.p50Ms)),
      httpCredit1P50Ms: median(rounds.map((r) => r.httpCredit1.p50Ms)),
      httpNoop1P50Ms: median(rounds.map((r) => r.httpNoop1.p50Ms)),
    };
    console.log(
      `median of ${ROUNDS} rounds: service ${serviceRatio.toFixed(1)}× the baseline, HTTP ${httpRatio.toFixed(1)}×; ` +
        `one caller ${medians.service1.toFixed(0)}/s against the baseline's ${medians.baseline1.toFixed(0)}/s; ` +
        `one keep-alive client p50: POST /sms ${medians.httpSms1P50Ms.toFixed(2)} ms, ` +
        `POST /members/{id}/credit ${medians.httpCredit1P50Ms.toFixed(2)} ms, no-op route ${medians.httpNoop1P50Ms.toFixed(2)} ms`,
    );

    const after = await balances(orm, member.id, team.id);
    const charged = before.balance - after.balance;
    const consistent =
      charged === after.charges - before.charges &&
      after.charges === after.messageCost &&
      after.rollupCost === after.messageCost &&
      after.drift === 0n;
    console.log(
      `ledger check: ${after.messages - before.messages} messages, charged ${charged} µ = transfers ${
        after.charges - before.charges
      } µ, messages ${after.messageCost} µ, rollup ${after.rollupCost} µ, team drift ${after.drift} µ: ${consistent ? 'consistent' : 'INCONSISTENT'}`,
    );
    if (!consistent) process.exitCode = 1;
    printVerdict(
      `64 callers ≥ ${TARGET}× the baseline through the service (median round of ${ROUNDS})`,
      serviceRatio >= TARGET,
      consistent,
      `${serviceRatio.toFixed(1)}×`,
    );
    printVerdict(
      `1 caller ≥ ${ONE_CALLER_TARGET}× the baseline alone (median round of ${ROUNDS})`,
      oneCallerRatio >= ONE_CALLER_TARGET,
      consistent,
      `${oneCallerRatio.toFixed(2)}× (${rounds.map((r) => r.oneCallerRatio.toFixed(2)).join(', ')})`,
    );
    printVerdict(
      `POST /sms at ${HTTP_CALLERS} clients ≥ ${HTTP_TARGET * 100}% of the no-op route (median round of ${ROUNDS})`,
      httpOfNoop >= HTTP_TARGET,
      consistent,
      `${(100 * httpOfNoop).toFixed(0)}% (${rounds.map((r) => (100 * r.httpOfNoop).toFixed(0)).join(', ')}%)`,
    );
    console.log(
      `ceiling: with the no-op route's and the service's own CPU per request, POST /sms could reach at most ` +
        `${(100 * httpCeiling).toFixed(0)}% of the no-op route here (median round; ` +
        `${rounds.map((r) => (100 * r.httpCeiling).toFixed(0)).join(', ')}%)`,
    );

    const file = await writeResults('charge', {
      secondsPerRun: SECONDS,
      rounds,
      medians,
      serviceRatio,
      httpRatio,
      oneCallerRatio,
      httpOfNoop,
      httpCeiling,
      target: TARGET,
      price: PRICE,
      consistent,
    });
    console.log(`results written to ${file}`);
  } finally {
    await loadThread?.terminate();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await pool.end();
    await orm.close(true);
    await db.drop();
  }
}

async function balances(orm: Awaited<ReturnType<typeof migratedOrm>>, memberId: number, teamId: number) {
  const row = await queryOne<Record<string, string>>(
    orm.em.fork(),
    `select (select balance from members where id = ?) as balance,
            (select coalesce(sum(amount), 0) from transfers where from_member_id = ? and kind = 'message_charge') as charges,
            (select count(*) from messages where member_id = ?) as messages,
            (select coalesce(sum(cost), 0) from messages where member_id = ?) as message_cost,
            (select coalesce(sum(cost), 0) from message_stats_daily where team_id = ?) as rollup_cost,
            (select master_balance from teams where id = ?) + (select sum(balance) from members where team_id = ?)
              + (select coalesce(sum(amount) filter (where kind in ('message_charge', 'master_message_charge')), 0)
                      - coalesce(sum(amount) filter (where kind in ('refund', 'master_refund', 'master_topup')), 0)
                   from transfers where team_id = ?) as drift`,
    [memberId, memberId, memberId, memberId, teamId, teamId, teamId, teamId],
  );
  return {
    balance: BigInt(row!.balance!),
    charges: BigInt(row!.charges!),
    messages: Number(row!.messages),
    messageCost: BigInt(row!.message_cost!),
    rollupCost: BigInt(row!.rollup_cost!),
    /** Balances plus charges minus refunds and top-ups: zero when no money was made or lost. */
    drift: BigInt(row!.drift!),
  };
}

type Measured = LoadResult & { cpuUs: { node: number; postgres: number } };

interface Round {
  baseline1: LoadResult;
  baseline64: LoadResult;
  service1: LoadResult;
  service64: Measured;
  http64: Measured;
  httpNoop64: Measured;
  httpSms1: LoadResult;
  httpCredit1: LoadResult;
  httpNoop1: LoadResult;
  serviceRatio: number;
  httpRatio: number;
  oneCallerRatio: number;
  httpOfNoop: number;
  /** What POST /sms would reach if it cost no more than the no-op route plus the service's send. */
  httpCeiling: number;
}

/** The machine's CPU (this process, with its load thread, and PostgreSQL) per request of a run. */
async function measuringCpu(run: () => Promise<LoadResult>): Promise<Measured> {
  const before = readCpu();
  const result = await run();
  const perThousand = cpuPerThousand(before, readCpu(), result.operations);
  return { ...result, cpuUs: { node: perThousand.node * 1000, postgres: perThousand.postgres * 1000 } };
}

function cpuOf(r: Measured): number {
  return r.cpuUs.node + r.cpuUs.postgres;
}

function cpuText(r: Measured): string {
  return `${cpuOf(r).toFixed(0)} (${r.cpuUs.node.toFixed(0)} + ${r.cpuUs.postgres.toFixed(0)})`;
}

/**
 * The ceiling of the HTTP target on this machine. A request to POST /sms does at least what a
 * request to the no-op route does (HTTP, JSON, the key check, the client's side) and what one
 * send through the service does (validation, the charge); with every core busy, requests per
 * second go as one over the CPU per request, so POST /sms reaches at most
 * noop / (noop + service) of the no-op route's rate.
 */
function compositionCeiling(noop: Measured, service: Measured): number {
  return cpuOf(noop) / (cpuOf(noop) + cpuOf(service));
}

function fmt(r: LoadResult): string {
  return `${r.perSecond.toFixed(0).padStart(5)}/s`;
}

/**
 * The HTTP callers run on a worker thread, so their own work does not sit on the server's event
 * loop; one thread for the whole run, so it is warmed up like the server.
 */
function runHttpLoad(order: HttpOrder): Promise<LoadResult> {
  loadThread ??= new Worker(new URL(import.meta.url), { workerData: { role: 'http-load' } });
  const thread = loadThread;
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    thread.once('error', onError);
    thread.once('message', (result: LoadResult | { error: string }) => {
      thread.off('error', onError);
      if ('error' in result) reject(new Error(result.error));
      else resolve(result);
    });
    thread.postMessage(order);
  });
}

function httpLoadThread(): void {
  // node:http with keep-alive: fetch (undici) stalls now and then on this kind of load, which
  // would measure the client rather than the server.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  parentPort!.on('message', async (order: HttpOrder) => {
    const target = new URL(order.url);
    const post = () =>
      new Promise<void>((resolve, reject) => {
        const request = http.request(
          {
            host: target.hostname,
            port: target.port,
            path: target.pathname,
            method: 'POST',
            agent,
            headers: { authorization: `Bearer ${order.key}`, 'content-type': 'application/json' },
          },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('end', () =>
              response.statusCode! >= 200 && response.statusCode! < 300
                ? resolve()
                : reject(
                    new Error(
                      `POST ${target.pathname} answered ${response.statusCode}: ${Buffer.concat(chunks)}`,
                    ),
                  ),
            );
          },
        );
        request.on('error', reject);
        request.end(order.body);
      });
    try {
      parentPort!.postMessage(await runLoad(order.callers, order.ms, post));
    } catch (error) {
      parentPort!.postMessage({ error: (error as Error).message });
    }
  });
}

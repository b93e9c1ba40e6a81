/**
 * bench:slack — ack latency of `/team credit` and `/team list` with 50 signed requests always in
 * flight against the real POST /slack/events, next to a bare Bolt app that acks the same request
 * and does nothing else, measured in the same run. Each of the 50 callers sends its next command
 * as soon as the previous one is acked, so the product's work after the ack piles up behind it
 * while acks go on; after each run that backlog is drained and its throughput reported too.
 * Rounds alternate the two apps (5 by default, BENCH_ROUNDS); each round gives a p99 for each and
 * their ratio, and the figures are the median round's. Target: teamops' p99 at most 1.3× the
 * bare app's in the same round, and under 100 ms — met only if every command was answered
 * without an error and (credit) every credit landed exactly once.
 *
 * Three threads: the servers (main, the event loop being measured), the 50 callers, and the fake
 * Slack Web API that receives the product's replies, so neither side's clients slow the other.
 */
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { App, ExpressReceiver } from '@slack/bolt';
import express from 'express';
import { createServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { queryOne } from '../src/platform/sql.ts';
import { memberActor, operator } from '../src/shared/actor.ts';
import { mountSlack, SLACK_EVENTS_PATH } from '../src/slack/index.ts';
import { startFakeSlack } from '../test/helpers/fake-slack.ts';
import { SlackRequests, signSlackRequest } from '../test/helpers/slack-requests.ts';
import { createBenchDatabase, median, migratedOrm, percentile, printVerdict, writeResults } from './lib.ts';

const CONCURRENCY = 50;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RATIO_TARGET = 1.3;
const P99_TARGET_MS = 100;
const MEMBERS = 50;
const SIGNING_SECRET = 'bench-signing-secret';
const SLACK_TEAM = 'T0BENCH';

/** What the fake Slack thread is asked: its URLs, or to wait until `replies` commands have been answered. */
type SlackOrder = { start: true } | { replies: number };

if (isMainThread) await main();
else if (workerData?.role === 'load') await loadThread();
else if (workerData?.role === 'slack') await slackThread();

/**
 * The servers run on the main thread. The 50 callers and the fake Slack Web API run on a worker
 * thread, so the clients' own work does not sit on the event loop being measured.
 */
async function main(): Promise<void> {
  const loadWorker = thread('load');
  const slackWorker = thread('slack');
  const { apiUrl, respondUrl } = await slackWorker.ask<{ apiUrl: string; respondUrl: string }>({
    start: true,
  });

  const db = await createBenchDatabase('slack');
  const orm = await migratedOrm(db, 40);
  const servers: Server[] = [];
  try {
    const logger = createLogger('silent');
    const services = createServices(orm, { logger });
    const config = loadConfig({
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_API_URL: apiUrl,
      LOG_LEVEL: 'silent',
    });
    const { team, owner } = await services.teams.setup({
      slackTeamId: SLACK_TEAM,
      name: 'Bench',
      owner: { name: 'Owner', slackUserId: 'U0OWNER' },
      via: 'cli',
    });
    await services.ledger.topUp(operator, { teamId: team.id, amount: '100000000' });
    const ownerActor = memberActor(owner.id, 'slack');
    const members: number[] = [];
    for (let i = 0; i < MEMBERS; i++)
      members.push((await services.members.create(ownerActor, { name: `m${i}` })).member.id);

    // The product: signature check, parse, ack; then the caller, the service, the reply, App Home.
    const product = express();
    // BENCH_AFTER_ACK overrides how many commands run at once after their ack (the product's default otherwise).
    const afterAckConcurrency = process.env.BENCH_AFTER_ACK ? Number(process.env.BENCH_AFTER_ACK) : undefined;
    mountSlack(product, { config, logger, services }, afterAckConcurrency ? { afterAckConcurrency } : {});
    // The baseline: the same Bolt stack acking the same request, with nothing behind it.
    const bareReceiver = new ExpressReceiver({ signingSecret: SIGNING_SECRET, endpoints: SLACK_EVENTS_PATH });
    const bare = new App({
      token: 'xoxb-bench',
      receiver: bareReceiver,
      clientOptions: { slackApiUrl: apiUrl },
    });
    bare.command('/team', async ({ ack }) => {
      await ack();
    });
    const endpoints = {
      product: await listen(product, servers),
      bare: await listen(bareReceiver.app, servers),
    };

    // How long the servers' event loop was held up: an ack waits behind whatever else runs on it.
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    const load = async (
      which: 'bare' | 'product',
      command: LoadOrder['command'],
      ms: number,
      callers = CONCURRENCY,
    ) => {
      loopDelay.reset();
      loopDelay.enable();
      const started = performance.now();
      const order: LoadOrder = { endpoint: endpoints[which], callers, command, members, ms, respondUrl };
      const latencies = await loadWorker.ask<number[]>(order);
      const sent = performance.now();
      // The product answers every command after its ack; wait for all of them before the next run.
      let drainMs = 0;
      let answeredPerSecond = 0;
      if (which === 'product') {
        await slackWorker.ask({ replies: latencies.length } satisfies SlackOrder);
        const finished = performance.now();
        drainMs = finished - sent;
        answeredPerSecond = (latencies.length * 1000) / (finished - started);
      }
      loopDelay.disable();
      return { latencies, drainMs, answeredPerSecond, loopDelayP99Ms: round(loopDelay.percentile(99) / 1e6) };
    };

    const rows = [];
    const creditTransfers = async () =>
      Number(
        (await queryOne<{ n: string }>(
          orm.em.fork(),
          "select count(*) as n from transfers where kind = 'credit'",
        ))!.n,
      );
    for (const command of ['credit', 'list'] as const) {
      const transfersBefore = await creditTransfers();
      let commandsSent = 0;
      await load('bare', command, 300);
      commandsSent += (await load('product', command, 300)).latencies.length;
      const runs = {
        bare: [] as Awaited<ReturnType<typeof load>>[],
        product: [] as Awaited<ReturnType<typeof load>>[],
      };
      // Alternate the two so that drift in the machine's load hits both alike.
      for (let r = 0; r < ROUNDS; r++) {
        runs.bare.push(await load('bare', command, SECONDS * 1000));
        runs.product.push(await load('product', command, SECONDS * 1000));
        commandsSent += runs.product.at(-1)!.latencies.length;
      }
      // One caller, commands one after another: what a single admin sees.
      const alone = { bare: [] as number[][], product: [] as number[][] };
      for (let r = 0; r < ROUNDS; r++) {
        alone.bare.push((await load('bare', command, SECONDS * 1000, 1)).latencies);
        const productRun = await load('product', command, SECONDS * 1000, 1);
        alone.product.push(productRun.latencies);
        commandsSent += productRun.latencies.length;
      }
      const aloneRounds = alone.bare.map((bareLatencies, r) => {
        const bareRound = summary([{ latencies: bareLatencies }]);
        const productRound = summary([{ latencies: alone.product[r]! }]);
        return { bare: bareRound, product: productRound, ratio: round(productRound.p50Ms / bareRound.p50Ms) };
      });
      const oneCaller = [...aloneRounds].sort((a, b) => a.ratio - b.ratio)[aloneRounds.length >> 1]!;
      // Every command was acked 200 and answered without an error (the threads fail the run
      // otherwise); a credit must also have moved money exactly once per command.
      const credited = (await creditTransfers()) - transfersBefore;
      const correct = command === 'credit' ? credited === commandsSent : credited === 0;
      const rounds = runs.bare.map((bareRun, r) => {
        const bareRound = summary([bareRun]);
        const productRound = summary([runs.product[r]!]);
        return { bare: bareRound, product: productRound, ratio: round(productRound.p99Ms / bareRound.p99Ms) };
      });
      const medianRound = [...rounds].sort((a, b) => a.ratio - b.ratio)[rounds.length >> 1]!;
      rows.push({
        command: `/team ${command}`,
        medianRound: rounds.indexOf(medianRound) + 1,
        bare: { ...medianRound.bare, eventLoopDelayP99Ms: runs.bare.map((run) => run.loopDelayP99Ms) },
        product: {
          ...medianRound.product,
          eventLoopDelayP99Ms: runs.product.map((run) => run.loopDelayP99Ms),
          drainMs: runs.product.map((run) => Math.round(run.drainMs)),
          answeredPerSecond: runs.product.map((run) => Math.round(run.answeredPerSecond)),
        },
        p99Ratio: medianRound.ratio,
        p99Ratios: rounds.map((r) => r.ratio),
        productP99sMs: rounds.map((r) => r.product.p99Ms),
        medianProductP99Ms: median(rounds.map((r) => r.product.p99Ms)),
        correct,
        commandsSent,
        credited,
        oneCaller: {
          bareP50Ms: oneCaller.bare.p50Ms,
          bareP99Ms: oneCaller.bare.p99Ms,
          productP50Ms: oneCaller.product.p50Ms,
          productP99Ms: oneCaller.product.p99Ms,
          p50Ratio: oneCaller.ratio,
          p50Ratios: aloneRounds.map((r) => r.ratio),
        },
      });
    }

    console.log(
      `bench:slack — ack latency, ${CONCURRENCY} signed requests in flight, ${ROUNDS} rounds × ${SECONDS} s each, median round`,
    );
    console.log(
      'command        | bare acks/s  p50 / p99 ms | teamops acks/s  p50 / p99 ms | p99 ratio | ratios by round | answered/s',
    );
    for (const row of rows) {
      console.log(
        `${row.command.padEnd(14)} | ${String(row.bare.perSecond).padStart(11)}  ${`${row.bare.p50Ms} / ${row.bare.p99Ms}`.padEnd(12)} | ` +
          `${String(row.product.perSecond).padStart(14)}  ${`${row.product.p50Ms} / ${row.product.p99Ms}`.padEnd(12)} | ` +
          `${`${row.p99Ratio}×`.padEnd(9)} | ${row.p99Ratios.join(', ').padEnd(15)} | ${row.product.answeredPerSecond.join(', ')}`,
      );
    }
    console.log(
      'one caller (median round by p50 ratio): bare p50 / p99 ms | teamops p50 / p99 ms | p50 ratio',
    );
    for (const row of rows) {
      const one = row.oneCaller;
      console.log(
        `${row.command.padEnd(14)} | ${one.bareP50Ms} / ${one.bareP99Ms} | ${one.productP50Ms} / ${one.productP99Ms} | ${one.p50Ratio}× (rounds ${one.p50Ratios.join(', ')})`,
      );
    }
    for (const row of rows) {
      if (!row.correct)
        console.log(`${row.command}: ${row.commandsSent} commands, ${row.credited} credits recorded`);
      printVerdict(
        `${row.command} ack p99 ≤ ${RATIO_TARGET}× bare Bolt's`,
        row.p99Ratio <= RATIO_TARGET,
        row.correct,
        `${row.p99Ratio}× (${row.product.p99Ms} vs ${row.bare.p99Ms} ms, round ${row.medianRound})`,
      );
      printVerdict(
        `${row.command} ack p99 < ${P99_TARGET_MS} ms`,
        row.medianProductP99Ms < P99_TARGET_MS,
        row.correct,
        `${row.medianProductP99Ms} ms (rounds ${row.productP99sMs.join(', ')} ms)`,
      );
    }
    const file = await writeResults('slack', {
      concurrency: CONCURRENCY,
      seconds: SECONDS,
      rounds: ROUNDS,
      rows,
    });
    console.log(`wrote ${file}`);
  } finally {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await loadWorker.terminate();
    await slackWorker.terminate();
    await orm.close(true);
    await db.drop();
  }

  function summary(runs: { latencies: number[] }[]) {
    const sorted = runs.flatMap((run) => run.latencies).sort((a, b) => a - b);
    return {
      requests: sorted.length,
      perSecond: Math.round(sorted.length / (runs.length * SECONDS)),
      p50Ms: round(percentile(sorted, 0.5)),
      p99Ms: round(percentile(sorted, 0.99)),
      maxMs: round(sorted.at(-1) ?? Number.NaN),
    };
  }
}

interface LoadOrder {
  endpoint: string;
  /** Callers sending commands back to back. */
  callers: number;
  command: 'credit' | 'list';
  members: number[];
  ms: number;
  /** The fake Slack's response_url base. */
  respondUrl: string;
}

/** A worker thread running this file in `role`, asked one thing at a time. */
function thread(role: 'load' | 'slack') {
  const worker = new Worker(new URL(import.meta.url), { workerData: { role } });
  const waiting: Array<(value: unknown) => void> = [];
  worker.on('message', (message) => waiting.shift()?.(message));
  worker.on('error', (error) => {
    console.error(error);
    process.exit(1);
  });
  return {
    ask<T>(message: unknown): Promise<T> {
      return new Promise<T>((resolve) => {
        waiting.push(resolve as (value: unknown) => void);
        worker.postMessage(message);
      });
    },
    terminate: () => worker.terminate(),
  };
}

/** 50 callers, each sending a command and timing its ack, then sending the next. */
async function loadThread(): Promise<void> {
  const port = parentPort!;
  port.on('message', async (order: LoadOrder) => {
    let replyId = 0;
    const client = new SlackRequests({
      endpoint: order.endpoint,
      signingSecret: SIGNING_SECRET,
      teamId: SLACK_TEAM,
      fakeSlack: { botUserId: 'UBOT', responseUrl: (id = `r${++replyId}`) => `${order.respondUrl}${id}` },
    });
    const text = (sequence: number) =>
      order.command === 'credit'
        ? `credit ${order.members[sequence % order.members.length]} 0.01 bench`
        : 'list';
    const latencies: number[] = [];
    const deadline = performance.now() + order.ms;
    let sequence = 0;
    await Promise.all(
      Array.from({ length: order.callers }, async () => {
        while (performance.now() < deadline) {
          const { fields } = client.commandPayload('U0OWNER', text(sequence++));
          const body = new URLSearchParams(fields).toString();
          const t0 = performance.now();
          const res = await signedPost(order.endpoint, body);
          latencies.push(performance.now() - t0);
          if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.text}`);
        }
      }),
    );
    port.postMessage(latencies);
  });
}

// node:http with keep-alive, as Slack's own delivery: fetch (undici) allocated enough on this
// thread that its collector's pauses showed up in both apps' p99.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function signedPost(endpoint: string, body: string): Promise<{ status: number; text: string }> {
  const url = new URL(endpoint);
  const timestamp = Math.floor(Date.now() / 1000);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': String(timestamp),
          'x-slack-signature': signSlackRequest(SIGNING_SECRET, timestamp, body),
        },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode!, text }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * The fake Slack Web API: counts the product's answers and fails the run on an error answer.
 * The answers are counted and let go as they come: kept until the end of a run, thousands of
 * /team list replies grew this thread's heap past 250 MB, and its collector's pauses (up to
 * 95 ms, on one of the machine's two cores) slowed the app being measured.
 */
async function slackThread(): Promise<void> {
  const port = parentPort!;
  const fakeSlack = await startFakeSlack();
  let answered = 0;
  let failure: string | undefined;
  setInterval(() => {
    const answers = fakeSlack.callsTo('response_url');
    if (answers.length === 0) return;
    failure ??= answers
      .map((call) => String(call.args.text))
      .find((text) => /:boom:|:no_entry:|:warning:/.test(text));
    answered += answers.length;
    fakeSlack.clear();
  }, 20).unref();
  port.on('message', async (order: SlackOrder) => {
    if ('start' in order) {
      port.postMessage({ apiUrl: fakeSlack.apiUrl, respondUrl: fakeSlack.responseUrl('') });
      return;
    }
    while (answered < order.replies && failure === undefined)
      await new Promise((resolve) => setTimeout(resolve, 20));
    if (failure !== undefined) throw new Error(failure);
    answered = 0;
    port.postMessage({ answered: order.replies });
  });
}

async function listen(app: express.Application, servers: Server[]): Promise<string> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}${SLACK_EVENTS_PATH}`;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

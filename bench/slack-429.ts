/**
 * bench:slack-429 — one workspace answering 429 must not slow another workspace's posts.
 *
 * Two workspaces are installed (multi-workspace mode, tokens sealed in the database) and each
 * has a team. A worker process runs the `slack` queue as the product does (same concurrency and
 * limiter) against a fake Slack Web API. Both workspaces post at a steady RATE per second for
 * BENCH_SECONDS; latency is from `dispatchJob` to the post reaching Slack.
 *
 * - baseline: nobody is rate-limited;
 * - limited: for the same BENCH_SECONDS, Slack answers every post of workspace A with HTTP 429
 *   and Retry-After: RETRY_AFTER_S (so A keeps being held for the whole window).
 *
 * Target: workspace B's latency (p50, p95) in the limited run equals its baseline within noise,
 * and none of its posts waits for A. Also reported: how many 429s A met, and how long A's
 * backlog takes to go out once Slack takes its posts again. Rounds alternate the two runs;
 * medians of the rounds are reported.
 */
import { randomBytes } from 'node:crypto';
import { createServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { dispatchJob } from '../src/jobs/jobs.ts';
import { createLogger } from '../src/logger.ts';
import { openQueues } from '../src/platform/queue.ts';
import { queryOne } from '../src/platform/sql.ts';
import { createInstallationStore } from '../src/slack/workspace-tokens.ts';
import { type FakeWorkspace, startFakeSlack } from '../test/helpers/fake-slack.ts';
import { startWorkers } from '../workers/index.ts';
import { createBenchDatabase, median, migratedOrm, percentile, printVerdict, writeResults } from './lib.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const RATE = Number(process.env.BENCH_RATE ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RETRY_AFTER_S = Number(process.env.BENCH_RETRY_AFTER ?? 5);
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const BACKEND = process.env.BENCH_QUEUE_BACKEND === 'postgres' ? 'postgres' : 'redis';

const logger = createLogger(process.env.BENCH_LOG_LEVEL ?? 'silent');
const db = await createBenchDatabase('slack429');
const orm = await migratedOrm(db, 8);
const fakeSlack = await startFakeSlack();
const config = loadConfig({
  DATABASE_URL: db.url,
  SLACK_SIGNING_SECRET: 'bench',
  SLACK_CLIENT_ID: '1.1',
  SLACK_CLIENT_SECRET: 'bench-client-secret',
  SLACK_STATE_SECRET: 'bench-state-secret-0123456789',
  TOKEN_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  SLACK_API_URL: fakeSlack.apiUrl,
});
const queues = openQueues(
  {
    redisUrl: BACKEND === 'redis' ? REDIS_URL : undefined,
    queuePrefix: `bench-${randomBytes(3).toString('hex')}`,
  },
  db.url,
  logger,
);

const installations = createInstallationStore(config, orm, logger)!;
const workspaces = { a: 'TBENCHA', b: 'TBENCHB' } as const;
const teams: Record<keyof typeof workspaces, number> = { a: 0, b: 0 };
const tokens: Record<keyof typeof workspaces, string> = { a: '', b: '' };
for (const key of ['a', 'b'] as const) {
  const workspace: FakeWorkspace = {
    teamId: workspaces[key],
    teamName: `Bench ${key}`,
    installerUserId: `U${workspaces[key]}`,
  };
  tokens[key] = fakeSlack.issueBotToken(workspace);
  await installations.storeInstallation({
    team: { id: workspace.teamId, name: workspace.teamName },
    enterprise: undefined,
    user: { id: workspace.installerUserId, token: undefined, scopes: undefined },
    bot: {
      token: tokens[key],
      scopes: ['chat:write'],
      id: `B${workspace.teamId}`,
      userId: `UBOT${workspace.teamId}`,
    },
    isEnterpriseInstall: false,
    authVersion: 'v2',
  });
  const row = await queryOne<{ id: number }>(
    orm.em.fork(),
    `insert into teams (name, currency, slack_team_id, master_balance, low_balance_level, created_at, updated_at)
     values (?, 'EUR', ?, 0, 1000000, now(), now()) returning id`,
    [workspace.teamName, workspace.teamId],
  );
  teams[key] = row!.id;
}

const workers = startWorkers(
  { config, logger, orm, queues, services: createServices(orm) },
  { databaseUrl: db.url, relay: false, queues: ['slack'] },
);
await workers.ready();

interface RunResult {
  bP50Ms: number;
  bP95Ms: number;
  bMaxMs: number;
  bPosts: number;
  aPosts: number;
  /** Posts each workspace sent in the run: each must reach Slack exactly once. */
  expected: number;
  a429s: number;
  /** Limited run: from the end of the 429 window until A's last post went out. */
  aDrainS?: number;
}

let sequence = 0;

async function run(limited: boolean): Promise<RunResult> {
  const label = `${limited ? 'limited' : 'baseline'}-${++sequence}`;
  const sent = new Map<string, number>();
  const started = Date.now();
  const windowEnd = started + SECONDS * 1000;
  if (limited) fakeSlack.throttle(tokens.a, windowEnd, RETRY_AFTER_S);
  const intervalMs = 1000 / RATE;
  let n = 0;
  while (Date.now() < windowEnd) {
    const tick = started + n * intervalMs;
    if (tick > Date.now()) await new Promise((resolve) => setTimeout(resolve, tick - Date.now()));
    for (const key of ['a', 'b'] as const) {
      const text = `${label}-${key}-${n}`;
      sent.set(text, Date.now());
      await dispatchJob(
        queues,
        'slack.post',
        { teamId: teams[key], channel: `C${workspaces[key]}`, text },
        { dedupKey: text },
      );
    }
    n += 1;
  }
  const expected = n;
  const delivered = (key: 'a' | 'b') =>
    fakeSlack.calls.filter(
      (call) =>
        call.method === 'chat.postMessage' &&
        call.response?.ok === true &&
        String(call.args.text).startsWith(`${label}-${key}-`),
    );
  const deadline = Date.now() + 300_000;
  while (delivered('a').length < expected || delivered('b').length < expected) {
    if (Date.now() > deadline) throw new Error(`${label}: posts missing after 5 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const bLatencies = delivered('b')
    .map((call) => call.at! - sent.get(String(call.args.text))!)
    .sort((x, y) => x - y);
  const aDelivered = delivered('a');
  const a429s = fakeSlack.calls.filter(
    (call) => call.response?.error === 'ratelimited' && String(call.args.text).startsWith(`${label}-a-`),
  ).length;
  const result: RunResult = {
    bP50Ms: percentile(bLatencies, 0.5),
    bP95Ms: percentile(bLatencies, 0.95),
    bMaxMs: bLatencies.at(-1)!,
    bPosts: bLatencies.length,
    aPosts: aDelivered.length,
    expected,
    a429s,
  };
  if (limited) result.aDrainS = (Math.max(...aDelivered.map((call) => call.at!)) - windowEnd) / 1000;
  fakeSlack.clear();
  return result;
}

const rounds: { baseline: RunResult; limited: RunResult }[] = [];
try {
  for (let round = 1; round <= ROUNDS; round += 1) {
    const baseline = await run(false);
    const limited = await run(true);
    rounds.push({ baseline, limited });
    console.log(`round ${round}`, JSON.stringify({ baseline, limited }));
  }
  const med = (pick: (r: { baseline: RunResult; limited: RunResult }) => number) =>
    Math.round(median(rounds.map(pick)) * 10) / 10;
  const summary = {
    secondsPerRun: SECONDS,
    ratePerWorkspace: RATE,
    retryAfterS: RETRY_AFTER_S,
    backend: BACKEND,
    rounds: ROUNDS,
    baseline: {
      bP50Ms: med((r) => r.baseline.bP50Ms),
      bP95Ms: med((r) => r.baseline.bP95Ms),
      bMaxMs: med((r) => r.baseline.bMaxMs),
    },
    limited: {
      bP50Ms: med((r) => r.limited.bP50Ms),
      bP95Ms: med((r) => r.limited.bP95Ms),
      bMaxMs: med((r) => r.limited.bMaxMs),
      a429s: med((r) => r.limited.a429s),
      aDrainS: med((r) => r.limited.aDrainS ?? 0),
    },
  };
  console.log(JSON.stringify(summary, null, 2));
  // Every post of both workspaces reached Slack once, and A met at most one 429 per Retry-After.
  const maxA429s = Math.ceil(SECONDS / RETRY_AFTER_S) + 1;
  const correct = rounds.every(
    ({ baseline, limited }) =>
      [baseline, limited].every((r) => r.aPosts === r.expected && r.bPosts === r.expected) &&
      baseline.a429s === 0 &&
      limited.a429s <= maxA429s,
  );
  if (!correct) console.log(`a post lost or sent twice, or A met more than ${maxA429s} 429s in a run`);
  printVerdict(
    "no post of B waits for A's hold (B's slowest post < Retry-After)",
    summary.limited.bMaxMs < RETRY_AFTER_S * 1000,
    correct,
    `B max ${summary.limited.bMaxMs} ms limited, ${summary.baseline.bMaxMs} ms baseline (Retry-After ${RETRY_AFTER_S} s)`,
  );
  // Within noise: the median round's p50 no more than 1.5× the baseline's (rounds vary more than that here).
  printVerdict(
    "B's latency in the limited run equals its baseline within noise (p50 ≤ 1.5× baseline)",
    summary.limited.bP50Ms <= 1.5 * summary.baseline.bP50Ms,
    correct,
    `B p50 ${summary.limited.bP50Ms} ms limited vs ${summary.baseline.bP50Ms} ms baseline; p95 ${summary.limited.bP95Ms} vs ${summary.baseline.bP95Ms} ms`,
  );
  console.log(`results: ${await writeResults('slack-429', { summary, rounds })}`);
} finally {
  await workers.stop();
  await queues.close();
  await orm.close(true);
  await fakeSlack.close();
  await db.drop();
}

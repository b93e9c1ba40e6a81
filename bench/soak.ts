/**
 * npm run soak — a reseller's day, squeezed, against a real running instance: `node src/main.ts`
 * started as a child process on 127.0.0.1 with the machine's PostgreSQL and Redis, a fake Slack
 * Web API and a real SMTP server (in this process). For SOAK_SECONDS (default 300):
 *
 * - ~40 SMS/s through POST /api/v1/sms over 50 members (a tenth to numbers that fail and are
 *   refunded, half with an Idempotency-Key);
 * - ~5 keyed credits and debits per second through the native API, a tenth of them replays;
 * - ~2 signed Slack commands per second (`/team credit …`, `/team list`, `/team balance`);
 * - an invitation every 10 s (emailed), a key rotation every 15 s;
 * - auto-recharge rules on a fifth of the members, set just under their balance, which the
 *   sends keep crossing.
 *
 * SOAK_SCALE (default 1) scales the first three rates. Every 10 s it samples the instance's RSS, the API's p50/p99 in that window, 5xx answers, the
 * connections its pool has busy in PostgreSQL, the outbox backlog and the Redis keys of its
 * queues. At the end, once the work has drained: the books (money conserved, every key once,
 * every email once, messages = log = statistics, refunds = failures, deadlocks PostgreSQL broke)
 * and one verdict line per target. Not a test: the figures go to docs/benchmarks.md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createServices } from '../src/app.ts';
import { redisPrefix } from '../src/platform/queue.ts';
import { memberActor, operator } from '../src/shared/actor.ts';
import { MICROS_PER_UNIT } from '../src/shared/money.ts';
import { startFakeSlack } from '../test/helpers/fake-slack.ts';
import { SlackRequests } from '../test/helpers/slack-requests.ts';
import { startSmtpServer } from '../test/helpers/smtp.ts';
import { createBenchDatabase, migratedOrm, percentile, writeResults } from './lib.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 300);
const SAMPLE_MS = 10_000;
/** SOAK_SCALE multiplies the SMS, money and Slack rates (a machine too busy for the full day). */
const SCALE = Number(process.env.SOAK_SCALE ?? 1);
const SMS_PER_SECOND = 40 * SCALE;
const MOVES_PER_SECOND = 5 * SCALE;
const SLACK_PER_SECOND = 2 * SCALE;
const INVITATION_EVERY_MS = 10_000;
const ROTATION_EVERY_MS = 15_000;
const MEMBERS = 50;
/** Requests waiting for an answer at most; beyond this the load is shed and counted. */
const MAX_IN_FLIGHT = 500;
const SIGNING_SECRET = 'soak-signing-secret';
const SLACK_TEAM = 'T0SOAK';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Sample {
  t: number;
  rssMb: number;
  /** CPU the instance used in the window, in % of one core. */
  cpuPct: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  errors5xx: number;
  poolBusy: number;
  connections: number;
  outbox: number;
  redisKeys: number;
}

const db = await createBenchDatabase('soak');
const orm = await migratedOrm(db, 4);
const fakeSlack = await startFakeSlack();
const smtp = await startSmtpServer();
const queuePrefix = `soak-${process.pid}`;
const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
await redis.connect();
const sql = new pg.Client({ connectionString: db.url });
await sql.connect();
const dbName = new URL(db.url).pathname.slice(1);
let child: ChildProcess | undefined;

try {
  // The team: an owner on Slack, 50 members with keys and money, rules on every fifth.
  const services = createServices(orm);
  const {
    team,
    owner,
    apiKey: ownerKey,
  } = await services.teams.setup({
    slackTeamId: SLACK_TEAM,
    name: 'Soak',
    owner: { name: 'Owner', email: 'owner@soak.test', slackUserId: 'U0OWNER' },
    via: 'cli',
  });
  fakeSlack.setUser('U0OWNER', { name: 'owner', email: 'owner@soak.test' });
  await services.ledger.topUp(operator, { teamId: team.id, amount: '1000000', reference: 'soak' });
  const ownerActor = memberActor(owner.id, 'cli');
  const members: { id: number; name: string; key: string }[] = [];
  for (let i = 0; i < MEMBERS; i++) {
    const { member, apiKey } = await services.members.create(ownerActor, { name: `m${i}` });
    members.push({ id: member.id, name: `m${i}`, key: apiKey });
    await services.ledger.credit(ownerActor, { member: { id: member.id }, amount: '100' });
    if (i % 5 === 0)
      await services.autoRecharge.set(ownerActor, {
        member: { id: member.id },
        threshold: '99.9',
        amount: '0.5',
      });
  }
  await orm.close(true);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  await mkdir(path.join(root, 'bench', 'results'), { recursive: true });
  const log = createWriteStream(path.join(root, 'bench', 'results', 'soak-instance.log'));
  child = spawn(process.execPath, [path.join(root, 'src', 'main.ts')], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      PUBLIC_URL: base,
      DATABASE_URL: db.url,
      REDIS_URL,
      QUEUE_PREFIX: queuePrefix,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: 'xoxb-soak',
      SLACK_API_URL: fakeSlack.apiUrl,
      SMTP_URL: smtp.url,
      SMS_SANDBOX_DELAY_MS: '500',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  await waitFor(
    async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok === true,
    180_000,
    'instance ready',
  );

  const slack = new SlackRequests({
    endpoint: `${base}/slack/events`,
    signingSecret: SIGNING_SECRET,
    teamId: SLACK_TEAM,
    fakeSlack: { botUserId: fakeSlack.botUserId, responseUrl: (id) => fakeSlack.responseUrl(id) },
  });
  const deadlocksBefore = await deadlocks();

  // What the callers saw.
  const latencies: { at: number; ms: number }[] = [];
  const statuses = new Map<number, number>();
  const slackStatuses = new Map<number, number>();
  const fiveXx: string[] = [];
  const moveAnswers = new Map<string, Set<string>>();
  const acceptedMessages = new Set<string>();
  const invited: string[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const started = performance.now();
  const elapsed = () => performance.now() - started;

  const api = async (method: string, url: string, key: string, body?: unknown, headers = {}) => {
    const t0 = performance.now();
    const res = await fetch(`${base}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).catch((error: Error) => ({ status: 599, text: async () => error.message, json: async () => null }));
    latencies.push({ at: t0 - started, ms: performance.now() - t0 });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    const text = await res.text();
    if (res.status >= 500) fiveXx.push(`${method} ${url} ${res.status} ${text.slice(0, 200)}`);
    return { status: res.status, json: res.status < 300 && text ? JSON.parse(text) : null };
  };
  // Callers give up on an instance this far behind, as real ones would; counted, not queued.
  let shed = 0;
  const fire = (work: () => Promise<unknown>) => {
    if (inFlight.size >= MAX_IN_FLIGHT) {
      shed += 1;
      return;
    }
    const p = work()
      .catch((error: Error) => fiveXx.push(`no answer: ${error.message}`))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  let sms = 0;
  let moves = 0;
  let slackCommands = 0;
  let invitations = 0;
  const sendSms = () => {
    const n = sms++;
    const member = members[n % MEMBERS]!;
    const to =
      n % 10 === 9 ? `+150055500${String(n % 100).padStart(2, '0')}` : `+1415555${2000 + (n % 7000)}`;
    fire(async () => {
      const res = await api(
        'POST',
        '/api/v1/sms',
        member.key,
        { to, message: `soak ${n}` },
        n % 2 ? { 'idempotency-key': `soak-sms-${n}` } : {},
      );
      if (res.status === 202) acceptedMessages.add(String(res.json.id));
    });
  };
  const move = () => {
    const n = moves++;
    // A tenth are replays of an earlier key, with the same request.
    const of = n % 10 === 9 && n > 20 ? n - 1 - Math.floor(Math.random() * 20) : n;
    const kind = of % 3 === 0 ? 'debit' : 'credit';
    const member = members[(of * 7) % MEMBERS]!;
    const key = `soak-move-${of}`;
    fire(async () => {
      const res = await api(
        'POST',
        `/api/v1/members/${member.id}/${kind}`,
        ownerKey,
        { amount: '0.25' },
        { 'idempotency-key': key },
      );
      if (res.status < 300) {
        const seen = moveAnswers.get(key) ?? new Set<string>();
        seen.add(String(res.json.transfer_id));
        moveAnswers.set(key, seen);
      }
    });
  };
  const command = () => {
    const n = slackCommands++;
    const texts = [`credit ${members[n % MEMBERS]!.name} 0.1 soak`, 'list', 'balance'];
    fire(async () => {
      const res = await slack.command('U0OWNER', texts[n % texts.length]!);
      slackStatuses.set(res.status, (slackStatuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500) fiveXx.push(`slack ${texts[n % texts.length]} ${res.status}`);
    });
  };
  const invite = () => {
    const email = `invitee-${invitations++}@soak.test`;
    fire(async () => {
      const res = await api('POST', '/api/v1/invitations', ownerKey, { email });
      if (res.status === 201) invited.push(email);
    });
  };
  const rotate = () => {
    const member = members[Math.floor(Math.random() * MEMBERS)]!;
    fire(async () => {
      const res = await api('POST', `/api/v1/members/${member.id}/key`, ownerKey, {});
      if (res.status === 200) member.key = res.json.api_key;
    });
  };

  // Open loop: each stream fires at its rate whatever the answers take.
  const streams: { perSecond: number; run: () => void; done: number }[] = [
    { perSecond: SMS_PER_SECOND, run: sendSms, done: 0 },
    { perSecond: MOVES_PER_SECOND, run: move, done: 0 },
    { perSecond: SLACK_PER_SECOND, run: command, done: 0 },
    { perSecond: 1000 / INVITATION_EVERY_MS, run: invite, done: 0 },
    { perSecond: 1000 / ROTATION_EVERY_MS, run: rotate, done: 0 },
  ];
  const samples: Sample[] = [];
  let lastSample = 0;
  let windowStart = 0;
  let lastCpu = 0;
  console.log(
    `soak: ${SECONDS} s against ${base} (pid ${child.pid}), database ${dbName}, queues ${queuePrefix}`,
  );
  console.log(
    '    t |  RSS MB | CPU % | p50 ms | p99 ms |  req | 5xx | pool busy/conn | outbox | redis keys',
  );
  while (elapsed() < SECONDS * 1000) {
    const seconds = elapsed() / 1000;
    for (const stream of streams) {
      while (stream.done < Math.floor(seconds * stream.perSecond)) {
        stream.run();
        stream.done += 1;
      }
    }
    if (elapsed() - lastSample >= SAMPLE_MS) {
      lastSample = elapsed();
      const window = latencies
        .filter((l) => l.at >= windowStart)
        .map((l) => l.ms)
        .sort((a, b) => a - b);
      windowStart = lastSample;
      const cpu = await cpuSeconds(child.pid!);
      const sample: Sample = {
        t: Math.round(lastSample / 1000),
        rssMb: await rssMb(child.pid!),
        cpuPct: Math.round(((cpu - lastCpu) / (SAMPLE_MS / 1000)) * 100),
        p50Ms: Math.round(percentile(window, 0.5)),
        p99Ms: Math.round(percentile(window, 0.99)),
        requests: window.length,
        errors5xx: fiveXx.length,
        ...(await poolUse()),
        outbox: Number(
          (await sql.query('select count(*) from outbox where dispatched_at is null')).rows[0].count,
        ),
        redisKeys: await redisKeys(),
      };
      lastCpu = cpu;
      samples.push(sample);
      console.log(
        `${String(sample.t).padStart(5)} | ${sample.rssMb.toFixed(1).padStart(7)} | ${String(sample.cpuPct).padStart(5)} | ${String(sample.p50Ms).padStart(6)} | ${String(sample.p99Ms).padStart(6)} | ${String(sample.requests).padStart(4)} | ${String(sample.errors5xx).padStart(3)} | ${`${sample.poolBusy}/${sample.connections}`.padStart(14)} | ${String(sample.outbox).padStart(6)} | ${String(sample.redisKeys).padStart(10)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const loadSeconds = elapsed() / 1000;
  await Promise.allSettled([...inFlight]);

  // Let the instance finish what the load started: outbox moved, messages final, emails sent.
  await waitFor(
    async () => {
      const { rows } = await sql.query(
        `select (select count(*) from outbox where dispatched_at is null) as outbox,
                (select count(*) from messages where status in ('queued', 'sent')) as open`,
      );
      return rows[0].outbox === '0' && rows[0].open === '0';
    },
    120_000,
    'the work to drain',
  ).catch((error: Error) => console.log(`warning: ${error.message}`));
  await waitFor(async () => smtp.received.length >= invited.length, 60_000, 'the invitation emails').catch(
    (error: Error) => console.log(`warning: ${error.message}`),
  );
  child.kill('SIGTERM');
  await new Promise((resolve) => child!.once('exit', resolve));
  child = undefined;

  // The books.
  const books = (
    await sql.query(
      `select (select master_balance from teams where id = $1) as master,
              (select sum(balance) from members where team_id = $1) as members,
              (select count(*) from members where team_id = $1 and balance < 0) as negative,
              (select coalesce(sum(amount) filter (where kind = 'master_topup'), 0) from transfers where team_id = $1) as topups,
              (select coalesce(sum(amount) filter (where kind in ('message_charge', 'master_message_charge')), 0) from transfers where team_id = $1) as charged,
              (select coalesce(sum(amount) filter (where kind in ('refund', 'master_refund')), 0) from transfers where team_id = $1) as refunded,
              (select count(*) from transfers where team_id = $1 and kind in ('refund', 'master_refund')) as refunds,
              (select count(*) from transfers where team_id = $1 and kind = 'auto_recharge') as recharges,
              (select count(*) from messages where team_id = $1 and status = 'failed') as failures,
              (select count(*) from messages where team_id = $1) as messages,
              (select coalesce(sum(messages), 0) from message_stats_daily where team_id = $1) as stats_messages,
              (select coalesce(sum(failed), 0) from message_stats_daily where team_id = $1) as stats_failed,
              (select count(*) from transfers where team_id = $1 and idempotency_key like 'soak-move-%') as keyed_moves,
              (select count(*) from (select request_key from messages where request_key like 'soak-sms-%'
                                      group by request_key having count(distinct charge_transfer_id) > 1) x) as keys_charged_twice`,
      [team.id],
    )
  ).rows[0];
  const conserved =
    BigInt(books.master) + BigInt(books.members) + BigInt(books.charged) - BigInt(books.refunded) ===
    BigInt(books.topups);
  const movedKeys = [...moveAnswers.values()];
  // Requests that got no answer at all (the client gave up): their work may still have committed.
  const unanswered = fiveXx.filter((line) => line.includes(' 599 ') || line.startsWith('no answer')).length;
  const emailsPerAddress = new Map<string, number>();
  for (const mail of smtp.received)
    for (const to of mail.to) emailsPerAddress.set(to, (emailsPerAddress.get(to) ?? 0) + 1);
  const deadlocksAfter = await deadlocks();

  const checks: [string, boolean, string][] = [
    [
      'money conserved',
      conserved,
      `master + members + charged − refunded = top-ups (${Number(BigInt(books.topups) / MICROS_PER_UNIT)})`,
    ],
    ['no negative balance', books.negative === '0', `${books.negative} negative`],
    [
      'every key once',
      // A request whose answer never came (the caller gave up) may still have committed: it is
      // stored without an answer, never twice.
      movedKeys.every((ids) => ids.size === 1) &&
        Number(books.keyed_moves) >= moveAnswers.size &&
        Number(books.keyed_moves) <= moveAnswers.size + unanswered &&
        books.keys_charged_twice === '0',
      `${moveAnswers.size} move keys answered, ${books.keyed_moves} transfers (${unanswered} requests unanswered); ${books.keys_charged_twice} SMS keys charged twice`,
    ],
    [
      'every email once',
      invited.every((email) => emailsPerAddress.get(email) === 1) &&
        [...emailsPerAddress.values()].every((n) => n === 1),
      `${invited.length} invitations made, ${smtp.received.length} emails`,
    ],
    [
      'messages = log = statistics',
      Number(books.messages) >= acceptedMessages.size &&
        Number(books.messages) <= acceptedMessages.size + unanswered &&
        books.stats_messages === books.messages,
      `${acceptedMessages.size} accepted, ${books.messages} in the log, ${books.stats_messages} in statistics`,
    ],
    [
      'refunds = failures',
      books.refunds === books.failures && books.stats_failed === books.failures,
      `${books.failures} failed, ${books.refunds} refunds`,
    ],
    [
      'no deadlock',
      deadlocksAfter === deadlocksBefore,
      `${deadlocksAfter - deadlocksBefore} broken by PostgreSQL`,
    ],
  ];

  // The targets.
  const steady = samples.filter((s) => s.t >= 60);
  const rssSlope = slopePerMinute(steady.map((s) => [s.t, s.rssMb]));
  const keysSlope = slopePerMinute(steady.map((s) => [s.t, s.redisKeys]));
  const meanKeys = steady.reduce((sum, s) => sum + s.redisKeys, 0) / Math.max(1, steady.length);
  const minute = (from: number, to: number) =>
    percentile(
      latencies
        .filter((l) => l.at >= from && l.at < to)
        .map((l) => l.ms)
        .sort((a, b) => a - b),
      0.99,
    );
  const firstP99 = minute(0, 60_000);
  const lastP99 = minute(loadSeconds * 1000 - 60_000, loadSeconds * 1000);
  const targets: [string, boolean, string][] = [
    [
      '0 × 5xx',
      fiveXx.length === 0,
      `${fiveXx.length} (${[...statuses].map(([s, n]) => `${s}×${n}`).join(', ')}; Slack ${[...slackStatuses].map(([s, n]) => `${s}×${n}`).join(', ')})`,
    ],
    ['RSS slope after the first minute < 1 MB/min', rssSlope < 1, `${rssSlope.toFixed(2)} MB/min`],
    [
      'p99 in the last minute ≤ 1.5 × the first',
      lastP99 <= 1.5 * firstP99,
      `${Math.round(lastP99)} ms vs ${Math.round(firstP99)} ms`,
    ],
    [
      'Redis keys flat after the first minute',
      keysSlope <= 0.01 * meanKeys,
      `${keysSlope.toFixed(1)} keys/min around ${Math.round(meanKeys)} (flat: ≤ 1% of the level per minute)`,
    ],
  ];
  console.log(
    `\nload: ${sms} SMS, ${moves} moves, ${slackCommands} Slack commands, ${invited.length} invitations in ${loadSeconds.toFixed(0)} s (${shed} of them shed: ${MAX_IN_FLIGHT} requests were waiting); ${books.recharges} auto-recharges, ${books.failures} failures refunded`,
  );
  for (const [name, ok, detail] of [...checks, ...targets])
    console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}: ${detail}`);
  for (const line of fiveXx.slice(0, 10)) console.log(`  5xx: ${line}`);
  const file = await writeResults('soak', {
    seconds: SECONDS,
    samples,
    books,
    checks,
    targets,
    fiveXx: fiveXx.slice(0, 50),
  });
  console.log(`results: ${file}`);
  process.exitCode = [...checks, ...targets].every(([, ok]) => ok) ? 0 : 1;
} finally {
  if (child) {
    child.kill('SIGKILL');
    await new Promise((resolve) => child!.once('exit', resolve));
  }
  await sql.end();
  for await (const keys of redis.scanStream({ match: `${redisPrefix(queuePrefix)}*`, count: 1000 }))
    if ((keys as string[]).length > 0) await redis.del(...(keys as string[]));
  redis.disconnect();
  await fakeSlack.close();
  await smtp.close();
  await db.drop();
}

async function deadlocks(): Promise<number> {
  const { rows } = await sql.query('select deadlocks from pg_stat_database where datname = $1', [dbName]);
  return Number(rows[0]?.deadlocks ?? 0);
}

/** The instance's connections to its database: busy (in a statement or a transaction) and all. */
async function poolUse(): Promise<{ poolBusy: number; connections: number }> {
  const { rows } = await sql.query(
    `select count(*) filter (where state <> 'idle') as busy, count(*) as all
       from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() and backend_type = 'client backend'`,
    [dbName],
  );
  return { poolBusy: Number(rows[0].busy), connections: Number(rows[0].all) };
}

async function redisKeys(): Promise<number> {
  let count = 0;
  for await (const keys of redis.scanStream({ match: `${redisPrefix(queuePrefix)}*`, count: 1000 }))
    count += (keys as string[]).length;
  return count;
}

/** User + system CPU seconds the process has used (/proc/<pid>/stat, clock ticks of 10 ms). */
async function cpuSeconds(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
}

/** Least-squares slope of y over t (seconds), per minute. */
function slopePerMinute(points: [number, number][]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mt = points.reduce((s, [t]) => s + t, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const cov = points.reduce((s, [t, y]) => s + (t - mt) * (y - my), 0);
  const varT = points.reduce((s, [t]) => s + (t - mt) ** 2, 0);
  return (cov / varT) * 60;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

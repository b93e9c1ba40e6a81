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
import { QUEUES } from '../src/jobs/jobs.ts';
import { redisPrefix } from '../src/platform/queue.ts';
import { memberActor, operator } from '../src/shared/actor.ts';
import { MICROS_PER_UNIT } from '../src/shared/money.ts';
import { startFakeSlack } from '../test/helpers/fake-slack.ts';
import { SlackRequests } from '../test/helpers/slack-requests.ts';
import { startSmtpServer } from '../test/helpers/smtp.ts';
import { createBenchDatabase, migratedOrm, percentile, printVerdict, writeResults } from './lib.ts';

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
  /** Of those, the queues' own (all but the rate limiters' counters, each of which expires). */
  queueKeys: number;
  /** The same keys by kind (queue and what the key holds): which of them grow. */
  redisKeyGroups: Record<string, number>;
  /** Jobs by queue and state: a backlog (waiting, delayed) or kept finished jobs. */
  jobs: Record<string, Record<string, number>>;
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
    '    t |  RSS MB | CPU % | p50 ms | p99 ms |  req | 5xx | pool busy/conn | outbox | redis keys (queues)',
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
        ...(await redisKeys()),
        jobs: await jobStates(),
      };
      lastCpu = cpu;
      samples.push(sample);
      console.log(
        `${String(sample.t).padStart(5)} | ${sample.rssMb.toFixed(1).padStart(7)} | ${String(sample.cpuPct).padStart(5)} | ${String(sample.p50Ms).padStart(6)} | ${String(sample.p99Ms).padStart(6)} | ${String(sample.requests).padStart(4)} | ${String(sample.errors5xx).padStart(3)} | ${`${sample.poolBusy}/${sample.connections}`.padStart(14)} | ${String(sample.outbox).padStart(6)} | ${String(sample.redisKeys).padStart(10)} (${sample.queueKeys})`,
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
  // The rate limiters' counters each expire with their window, the longest being a Slack
  // signature's 10 minutes (it is valid 5 minutes either side of its timestamp): they level off
  // at the requests of their window, which is after the first minute, and so they are reported
  // beside the target. What must not grow is what the queues keep.
  const keysSlope = slopePerMinute(steady.map((s) => [s.t, s.queueKeys]));
  const meanKeys = steady.reduce((sum, s) => sum + s.queueKeys, 0) / Math.max(1, steady.length);
  const allKeysSlope = slopePerMinute(steady.map((s) => [s.t, s.redisKeys]));
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
      'Redis keys of the queues flat after the first minute',
      keysSlope <= 0.01 * meanKeys,
      `${keysSlope.toFixed(1)} keys/min around ${Math.round(meanKeys)} (flat: ≤ 1% of the level per minute); all keys, rate-limit counters included: ${allKeysSlope.toFixed(1)} keys/min`,
    ],
  ];
  console.log(
    `\nload: ${sms} SMS, ${moves} moves, ${slackCommands} Slack commands, ${invited.length} invitations in ${loadSeconds.toFixed(0)} s (${shed} of them shed: ${MAX_IN_FLIGHT} requests were waiting); ${books.recharges} auto-recharges, ${books.failures} failures refunded`,
  );
  for (const [name, ok, detail] of checks) console.log(`${ok ? 'PASS' : 'FAIL'}  ${name}: ${detail}`);
  const firstSteady = steady[0];
  const finalSample = samples.at(-1);
  if (firstSteady && finalSample && firstSteady !== finalSample) {
    console.log(`Redis keys by kind, t=${firstSteady.t} s → t=${finalSample.t} s:`);
    for (const line of keyGroupChanges(firstSteady, finalSample)) console.log(`  ${line}`);
    console.log('jobs by queue and state (waiting/active/delayed/completed/failed):');
    for (const queue of QUEUES) {
      const states = (s: Sample) => {
        const j = s.jobs[queue]!;
        return `${j.waiting! + j.prioritized!}/${j.active}/${j.delayed}/${j.completed}/${j.failed}`;
      };
      console.log(`  ${queue.padEnd(9)} ${states(firstSteady)} → ${states(finalSample)}`);
    }
  }
  const booksHold = checks.every(([, ok]) => ok);
  const met = targets.map(([name, ok, detail]) => printVerdict(name, ok, booksHold, detail));
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
  process.exitCode = booksHold && met.every(Boolean) ? 0 : 1;
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

async function redisKeys(): Promise<{
  redisKeys: number;
  queueKeys: number;
  redisKeyGroups: Record<string, number>;
}> {
  const prefix = `${redisPrefix(queuePrefix)}:`;
  const groups: Record<string, number> = {};
  let count = 0;
  for await (const keys of redis.scanStream({ match: `${prefix}*`, count: 1000 }))
    for (const key of keys as string[]) {
      count += 1;
      const group = keyGroup(key.slice(prefix.length));
      groups[group] = (groups[group] ?? 0) + 1;
    }
  const limits = Object.entries(groups)
    .filter(([group]) => group.startsWith('limits:'))
    .reduce((sum, [, n]) => sum + n, 0);
  return { redisKeys: count, queueKeys: count - limits, redisKeyGroups: groups };
}

/** Each queue's jobs by state, read from BullMQ's lists and sorted sets. */
async function jobStates(): Promise<Record<string, Record<string, number>>> {
  const prefix = redisPrefix(queuePrefix);
  const states: Record<string, Record<string, number>> = {};
  for (const queue of QUEUES) {
    const key = (name: string) => `${prefix}:${queue}:${name}`;
    const [waiting, active, delayed, prioritized, completed, failed] = await Promise.all([
      redis.llen(key('wait')),
      redis.llen(key('active')),
      redis.zcard(key('delayed')),
      redis.zcard(key('prioritized')),
      redis.zcard(key('completed')),
      redis.zcard(key('failed')),
    ]);
    states[queue] = { waiting, active, delayed, prioritized, completed, failed };
  }
  return states;
}

/**
 * What a key holds, with its ids taken out: `messages:job message.dispatch`, `messages:completed`,
 * `limits:api`… BullMQ names a job's hash `<queue>:<job id>` (ours are `<job name>.o<row>` or
 * `.k<key>`) and its log `<queue>:<job id>:logs`.
 */
function keyGroup(key: string): string {
  const [head, ...rest] = key.split(':');
  if (head === 'limits') return `limits:${rest[0]}`;
  const tail = rest.join(':');
  const job = /^([a-z_]+\.[a-z_]+)\.[ok]/.exec(tail);
  if (job) return `${head}:job ${job[1]}${tail.endsWith(':logs') ? ' logs' : ''}`;
  return `${head}:${tail.replace(/:[^:]*\d[^:]*$/, ':<id>')}`;
}

/** The key kinds whose count changed between two samples, largest change first. */
function keyGroupChanges(from: Sample, to: Sample): string[] {
  const groups = new Set([...Object.keys(from.redisKeyGroups), ...Object.keys(to.redisKeyGroups)]);
  return [...groups]
    .map((group) => ({
      group,
      before: from.redisKeyGroups[group] ?? 0,
      after: to.redisKeyGroups[group] ?? 0,
    }))
    .filter(({ before, after }) => before !== after || after >= 10)
    .sort((a, b) => Math.abs(b.after - b.before) - Math.abs(a.after - a.before) || b.after - a.after)
    .map(({ group, before, after }) => `${group}: ${before} → ${after}`);
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

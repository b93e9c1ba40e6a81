import { Writable } from 'node:stream';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { type Runtime, startRuntime } from '../../src/runtime.ts';
import { launchChromium } from '../helpers/browser.ts';
import { createTestDatabase, databaseEnv, type TestDatabase } from '../helpers/database.ts';
import { TEST_REDIS_URL } from '../helpers/env.ts';
import { type FakeSlack, startFakeSlack } from '../helpers/fake-slack.ts';
import { seedTeam } from '../helpers/services.ts';
import { SlackRequests } from '../helpers/slack-requests.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.ts';
import { eventually, uniquePrefix } from '../helpers/workers.ts';

/**
 * The operator's view of one running process (web and workers together, on Redis): /metrics
 * with every family moving while real work goes through, the request log and the request id
 * followed into the jobs a request caused, the queue dashboard and the API reference.
 */
const METRICS_TOKEN = 'metrics-token-0123456789';
const ADMIN_PASSWORD = 'admin-password-0123';
const SIGNING_SECRET = 'observability-signing-secret';

let db: TestDatabase;
let slack: FakeSlack;
let smtp: TestSmtpServer;
let runtime: Runtime;
let base: string;
const lines: Array<Record<string, unknown>> = [];
let rawLog = '';

function env(extra: Record<string, string> = {}) {
  return {
    ...databaseEnv(db.url),
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: uniquePrefix('obs'),
    PORT: '0',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_BOT_TOKEN: 'xoxb-observability',
    SLACK_API_URL: slack.apiUrl,
    SMTP_URL: smtp.url,
    SMS_SANDBOX_DELAY_MS: '0',
    METRICS_TOKEN,
    ADMIN_PASSWORD,
    ...extra,
  };
}

function captureLogger() {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      const text = chunk.toString();
      rawLog += text;
      for (const line of text.split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return createLogger('info', { role: 'all' }, sink);
}

beforeAll(async () => {
  db = await createTestDatabase();
  slack = await startFakeSlack();
  smtp = await startSmtpServer();
  runtime = await startRuntime(loadConfig(env()), captureLogger(), { web: true, worker: true });
  const address = runtime.server!.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await runtime?.stop();
  await slack?.close();
  await smtp?.close();
  await db?.drop();
});

type Samples = Map<string, number>;

async function scrape(): Promise<Samples> {
  const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  const samples: Samples = new Map();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** The samples of one family, by full series name. */
function family(samples: Samples, prefix: string): Array<[string, number]> {
  return [...samples].filter(
    ([series]) => series === prefix || series.startsWith(`${prefix}{`) || series.startsWith(`${prefix}_`),
  );
}

function moved(before: Samples, after: Samples, prefix: string): boolean {
  const a = family(after, prefix);
  return a.length > 0 && a.some(([series, value]) => before.get(series) !== value);
}

async function api(
  method: string,
  path: string,
  key: string,
  body?: object,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, headers: res.headers, json: (await res.json().catch(() => null)) as unknown };
}

describe('metrics, request log and request ids', () => {
  it('asks for METRICS_TOKEN', async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
  });

  it('shows every family moving while commands, API calls and jobs go through', async () => {
    const services = runtime.deps.services;
    const seeded = await seedTeam(services, { masterBalance: '1000' });
    const before = await scrape();

    // Slack: a command, acked over HTTP.
    const requests = new SlackRequests({
      endpoint: `${base}/slack/events`,
      signingSecret: SIGNING_SECRET,
      teamId: seeded.team.slackTeamId!,
      fakeSlack: slack,
    });
    const ack = await requests.command(seeded.owner.slackUserId!, 'balance');
    expect(ack.status).toBe(200);

    // The mail queue is paused for a moment (as from the dashboard), so a job is seen waiting.
    const mailQueue = runtime.deps.queues.bullQueue('mail') as {
      pause(): Promise<void>;
      resume(): Promise<void>;
    };
    await mailQueue.pause();
    const invite = await api(
      'POST',
      '/invitations',
      seeded.owner.apiKey,
      { email: 'follow-me@example.com' },
      {
        'x-request-id': 'trace-invite-1',
      },
    );
    expect(invite.status).toBe(201);
    expect(invite.headers.get('x-request-id')).toBe('trace-invite-1');
    const held = await eventually(
      async () => {
        const samples = await scrape();
        return (samples.get('teamops_queue_oldest_waiting_seconds{queue="mail"}') ?? 0) > 0 && samples;
      },
      { message: 'the invitation job seen waiting' },
    );
    await mailQueue.resume();

    // An outbox row of a job this version does not know waits: the relay's lag shows.
    await runtime.deps.orm.em
      .fork()
      .execute(
        `insert into outbox (job, payload, available_at, created_at) values ('future.job', '{}', now() - interval '5 seconds', now())`,
      );

    // Money: a credit, an auto-recharge rule and a debit that crosses it, an SMS charge.
    const user = seeded.user;
    expect(
      (await api('POST', `/members/${user.id}/credit`, seeded.owner.apiKey, { amount: '10' })).status,
    ).toBe(201);
    expect(
      (
        await api('PUT', `/members/${user.id}/auto-recharge`, seeded.owner.apiKey, {
          threshold: '5',
          amount: '20',
        })
      ).status,
    ).toBe(200);
    expect(
      (await api('POST', `/members/${user.id}/debit`, seeded.owner.apiKey, { amount: '8' })).status,
    ).toBe(201);
    expect((await api('POST', '/sms', user.apiKey, { to: '+306912345678', message: 'hello' })).status).toBe(
      202,
    );

    const waiting = await scrape();
    expect(waiting.get('teamops_outbox_waiting_rows')).toBeGreaterThanOrEqual(1);
    expect(waiting.get('teamops_outbox_oldest_waiting_seconds')).toBeGreaterThanOrEqual(4);

    await smtp.waitFor((email) => email.to.includes('follow-me@example.com'));
    await eventually(
      async () =>
        (
          await runtime.deps.orm.em
            .fork()
            .execute(`select 1 from transfers where kind = 'auto_recharge' and to_member_id = ?`, [user.id])
        ).length === 1,
      { message: 'auto-recharge' },
    );
    await runtime.deps.orm.em.fork().execute(`delete from outbox where job = 'future.job'`);
    // The recharge's own follow-up jobs (its Slack note) are written as it commits; the relay
    // hands them over a moment later, and the gauge falls back to zero then.
    let after = await scrape();
    await eventually(
      async () => {
        after = await scrape();
        return after.get('teamops_outbox_waiting_rows') === 0;
      },
      { message: 'outbox drained' },
    );

    for (const name of [
      'teamops_http_request_duration_seconds',
      'teamops_slack_ack_duration_seconds',
      'teamops_postings_total',
      'teamops_sms_charges_total',
      'teamops_jobs_total',
      'teamops_job_duration_seconds',
      'teamops_queue_jobs',
      'teamops_process_cpu_seconds_total',
      'teamops_nodejs_heap_size_used_bytes',
    ]) {
      expect(moved(before, after, name), `${name} moved`).toBe(true);
    }
    // Gauges that rose while work waited and fell back once it was done.
    for (const name of ['teamops_outbox_waiting_rows', 'teamops_outbox_oldest_waiting_seconds']) {
      expect(moved(before, waiting, name) && moved(waiting, after, name), `${name} moved`).toBe(true);
    }
    expect(moved(before, held, 'teamops_queue_oldest_waiting_seconds')).toBe(true);
    expect(after.get('teamops_queue_oldest_waiting_seconds{queue="mail"}')).toBe(0);
    expect(after.get('teamops_outbox_waiting_rows')).toBe(0);
    const pool = family(after, 'teamops_db_pool_connections');
    expect(pool.map(([series]) => series).sort()).toEqual([
      'teamops_db_pool_connections{state="idle"}',
      'teamops_db_pool_connections{state="in_use"}',
      'teamops_db_pool_connections{state="waiting"}',
    ]);
    expect(pool.reduce((sum, [, value]) => sum + value, 0)).toBeGreaterThan(0);

    expect(after.get('teamops_slack_ack_duration_seconds_count{command="/team balance"}')).toBe(1);
    expect(
      after.get(
        'teamops_http_request_duration_seconds_count{method="POST",route="/api/v1/members/:member/credit",status="201"}',
      ),
    ).toBe(1);
    expect(after.get('teamops_postings_total{kind="credit",outcome="applied"}')).toBeGreaterThanOrEqual(1);
    expect(after.get('teamops_sms_charges_total{kind="member",outcome="charged"}')).toBe(1);
    expect(after.get('teamops_jobs_total{queue="mail",outcome="completed"}')).toBeGreaterThanOrEqual(1);

    // The request log: one line per request, with route, status, duration and caller — no secrets.
    const credit = lines.find(
      (l) => l.msg === 'request completed' && l.route === '/api/v1/members/:member/credit',
    );
    expect(credit).toMatchObject({
      res: { status: 201 },
      req: { method: 'POST' },
      memberId: seeded.owner.id,
    });
    expect(typeof credit!.durationMs).toBe('number');
    expect(credit!.reqId).toMatch(/^[0-9a-f-]{36}$/);
    const slackLine = lines.find((l) => l.msg === 'request completed' && l.route === '/slack/events');
    expect(slackLine).toMatchObject({ slackTeam: seeded.team.slackTeamId, res: { status: 200 } });
    for (const secret of [seeded.owner.apiKey, user.apiKey, METRICS_TOKEN, 'follow-me@example.com"}']) {
      expect(rawLog).not.toContain(secret);
    }
    const requestLines = lines.filter((l) => l.msg === 'request completed');
    expect(
      requestLines.every((l) => !('url' in (l.req as object)) && !('headers' in (l.req as object))),
    ).toBe(true);

    // The invitation's request id, followed into the job it caused.
    const traced = lines.filter((l) => l.reqId === 'trace-invite-1');
    expect(traced.some((l) => l.msg === 'request completed' && l.route === '/api/v1/invitations')).toBe(true);
    expect(traced.some((l) => l.msg === 'invitation email sent' && String(l.jobId).startsWith('mail:'))).toBe(
      true,
    );
  });
});

describe('queue dashboard', () => {
  it('asks for ADMIN_PASSWORD and lists every queue', async () => {
    const denied = await fetch(`${base}/admin/queues`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('www-authenticate')).toContain('Basic');
    const wrong = `Basic ${Buffer.from('admin:nope').toString('base64')}`;
    expect(
      (await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: wrong } })).status,
    ).toBe(401);
    const auth = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
    const page = await fetch(`${base}/admin/queues`, { headers: { authorization: auth } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('teamops queues (Redis)');
    const listed = (await (
      await fetch(`${base}/admin/queues/api/queues`, { headers: { authorization: auth } })
    ).json()) as {
      queues: Array<{ name: string; counts: Record<string, number> }>;
    };
    expect(listed.queues.map((q) => q.name).sort()).toEqual([
      'balance',
      'digests',
      'mail',
      'messages',
      'slack',
    ]);
    expect(listed.queues.find((q) => q.name === 'mail')!.counts.completed).toBeGreaterThanOrEqual(1);
  });

  it('reads the PostgreSQL backend too', async () => {
    const pgRuntime = await startRuntime(
      loadConfig({
        ...env(),
        REDIS_URL: '',
        SLACK_SIGNING_SECRET: '',
        SLACK_BOT_TOKEN: '',
        SLACK_API_URL: '',
      }),
      createLogger('silent'),
      { web: true, worker: false },
    );
    try {
      await pgRuntime.deps.queues.add('mail', 'email.send', { to: 'x@example.com', subject: 's', text: 't' });
      const address = pgRuntime.server!.address();
      const pgBase = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      const auth = `Basic ${Buffer.from(`ops:${ADMIN_PASSWORD}`).toString('base64')}`;
      const page = await fetch(`${pgBase}/admin/queues`, { headers: { authorization: auth } });
      expect(await page.text()).toContain('teamops queues (PostgreSQL)');
      const response = await fetch(`${pgBase}/admin/queues/api/queues`, { headers: { authorization: auth } });
      const listed = (await response.json()) as {
        queues: Array<{ name: string; counts: Record<string, number> }>;
      };
      expect({ status: response.status, listed }).toMatchObject({
        status: 200,
        listed: { queues: expect.any(Array) },
      });
      expect(listed.queues.find((q) => q.name === 'mail')!.counts.waiting).toBe(1);
    } finally {
      await pgRuntime.stop();
    }
  });
});

describe('API reference', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('renders /docs from /api/v1/openapi.json with no request leaving the machine', {
    timeout: 120_000,
  }, async () => {
    const page = await browser.newPage();
    const outside: string[] = [];
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(base)) return route.continue();
      outside.push(url);
      return route.abort();
    });
    await page.goto(`${base}/docs`);
    // Swagger UI is 1.5 MB of JavaScript: on a loaded 2-core machine parsing it takes a while.
    await page.locator('.opblock').first().waitFor({ timeout: 100_000 });
    // Paths are shown under the document's server, /api/v1.
    expect(await page.locator('.opblock-summary-path').allTextContents()).toContain(
      '/members/{member}/credit',
    );
    expect(await page.title()).toBe('teamops API reference');
    expect(outside).toEqual([]);
    await page.close();
  });
});

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { dispatchJob } from '../../src/jobs/jobs.ts';
import type { Orm } from '../../src/platform/database.ts';
import type { Queues } from '../../src/platform/queue.ts';
import { startWorkers, type Workers } from '../../workers/index.ts';
import { connectTestOrm, createTestDatabase, databaseEnv, type TestDatabase } from '../helpers/database.ts';
import { eventually, openTestQueues, silentLogger, sleep, uniquePrefix } from '../helpers/workers.ts';

/**
 * A Slack Web API that answers chat.postMessage and can answer HTTP 429 with Retry-After, or a
 * platform error, to the next calls. (test/helpers/fake-slack.ts has no 429s.)
 */
class RateLimitingSlack {
  readonly posts: { at: number; channel: string; text: string; status: number }[] = [];
  readonly next: ({ status: 429; retryAfter: number } | { status: 200; error: string })[] = [];
  server: Server | undefined;

  get apiUrl() {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/api/`;
  }

  async start() {
    this.server = createServer(async (req, res) => {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      const args = Object.fromEntries(new URLSearchParams(raw));
      const planned = req.url?.endsWith('chat.postMessage') ? this.next.shift() : undefined;
      this.posts.push({
        at: Date.now(),
        channel: args.channel ?? '',
        text: args.text ?? '',
        status: planned?.status ?? 200,
      });
      if (planned?.status === 429) {
        res.writeHead(429, { 'retry-after': String(planned.retryAfter), 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: false, error: 'ratelimited' }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          planned
            ? { ok: false, error: planned.error }
            : { ok: true, channel: args.channel, ts: `${Date.now()}.000100` },
        ),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  delivered(channel: string) {
    return this.posts.filter((post) => post.channel === channel && post.status === 200);
  }
}

let database: TestDatabase;
let orm: Orm;
let queues: Queues;
let workers: Workers;
const slack = new RateLimitingSlack();

beforeAll(async () => {
  await slack.start();
  database = await createTestDatabase();
  orm = await connectTestOrm(database.url, silentLogger);
  queues = openTestQueues('redis', database.url, uniquePrefix('slack'));
  const config = loadConfig({
    ...databaseEnv(database.url),
    SLACK_SIGNING_SECRET: 'secret',
    SLACK_BOT_TOKEN: 'xoxb-outbound',
    SLACK_API_URL: slack.apiUrl,
  });
  workers = startWorkers(
    { config, logger: silentLogger, orm, queues, services: createServices(orm) },
    { databaseUrl: database.url, relay: false, queues: ['slack'] },
  );
  await workers.ready();
});

afterAll(async () => {
  await workers?.stop();
  await queues?.close();
  await orm?.close(true);
  await database?.drop();
  await new Promise((resolve) => slack.server?.close(resolve));
});

describe('the Slack queue', () => {
  it('holds every post back for Retry-After after a 429, then posts each message once', async () => {
    slack.next.push({ status: 429, retryAfter: 2 });
    for (const n of [1, 2, 3]) {
      await dispatchJob(
        queues,
        'slack.post',
        { teamId: 1, channel: 'CRATE', text: `message ${n}` },
        { dedupKey: `rate-${n}` },
      );
    }
    await eventually(() => slack.delivered('CRATE').length === 3, {
      timeoutMs: 20_000,
      message: 'three posts',
    });
    const limited = slack.posts.find((post) => post.status === 429)!;
    const afterLimit = slack.delivered('CRATE');
    for (const post of afterLimit) expect(post.at - limited.at).toBeGreaterThanOrEqual(1_900);
    expect(afterLimit.map((post) => post.text).sort()).toEqual(['message 1', 'message 2', 'message 3']);
    await sleep(300);
    expect(slack.delivered('CRATE')).toHaveLength(3);
    // The 429 did not use up an attempt: nothing failed, nothing was retried with backoff.
    expect((await queues.counts('slack')).failed).toBe(0);
  });

  it('gives up at once on an error no retry can fix', async () => {
    slack.next.push({ status: 200, error: 'channel_not_found' });
    await dispatchJob(
      queues,
      'slack.post',
      { teamId: 1, channel: 'CGONE', text: 'into the void' },
      { dedupKey: 'gone-1' },
    );
    await eventually(async () => (await queues.counts('slack')).failed === 1, { message: 'failed job' });
    await sleep(500);
    expect(slack.posts.filter((post) => post.channel === 'CGONE')).toHaveLength(1);
  });

  it('posts a redelivered job only once', async () => {
    await dispatchJob(
      queues,
      'slack.post',
      { teamId: 1, channel: 'CONCE', text: 'only once' },
      { dedupKey: 'once-1' },
    );
    await eventually(() => slack.delivered('CONCE').length === 1);
    // The same job again (kept completed, so the queue itself would ignore it): drop it from the
    // queue's memory and add it again, as a relay might after losing the queue's data.
    await queues.close();
    queues = openTestQueues('redis', database.url, uniquePrefix('slack-again'));
    const again = startWorkers(
      {
        config: loadConfig({
          ...databaseEnv(database.url),
          SLACK_SIGNING_SECRET: 'secret',
          SLACK_BOT_TOKEN: 'xoxb-outbound',
          SLACK_API_URL: slack.apiUrl,
        }),
        logger: silentLogger,
        orm,
        queues,
        services: createServices(orm),
      },
      { databaseUrl: database.url, relay: false, queues: ['slack'] },
    );
    await again.ready();
    try {
      await dispatchJob(
        queues,
        'slack.post',
        { teamId: 1, channel: 'CONCE', text: 'only once' },
        { dedupKey: 'once-1' },
      );
      await eventually(async () => (await queues.counts('slack')).completed === 1);
      expect(slack.delivered('CONCE')).toHaveLength(1);
    } finally {
      await again.stop();
    }
  });
});

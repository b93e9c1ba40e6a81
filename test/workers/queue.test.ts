import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  openQueues,
  permanentFailure,
  type QueueJob,
  type Queues,
  rateLimitedError,
} from '../../src/platform/queue.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { TEST_REDIS_URL } from '../helpers/env.ts';
import { eventually, openTestQueues, silentLogger, sleep, uniquePrefix } from '../helpers/workers.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

describe.each(['redis', 'postgres'] as const)('queues on %s', (backend) => {
  let queues: Queues;
  const prefix = uniquePrefix(`queue-${backend}`);

  beforeAll(() => {
    queues = openTestQueues(backend, database.url, prefix);
  });

  afterAll(async () => {
    await queues?.close();
  });

  it('runs added jobs with their data, and a repeated job id only once', async () => {
    const seen: QueueJob[] = [];
    const worker = queues.createWorker('basic', async (job) => {
      seen.push(job);
    });
    await queues.add('basic', 'greet', { who: 'ada' }, { jobId: 'greet.k1' });
    await queues.add('basic', 'greet', { who: 'ada again' }, { jobId: 'greet.k1' });
    await queues.addBulk('basic', [
      { name: 'greet', data: { who: 'grace' }, opts: { jobId: 'greet.k2' } },
      { name: 'greet', data: { who: 'grace again' }, opts: { jobId: 'greet.k2' } },
    ]);
    await eventually(() => seen.length >= 2, { message: 'two jobs processed' });
    await sleep(300);
    expect(seen.map((job) => [job.id, job.name, job.data])).toEqual([
      ['greet.k1', 'greet', { who: 'ada' }],
      ['greet.k2', 'greet', { who: 'grace' }],
    ]);
    await worker.close();
  });

  it('retries a failing job with backoff, and stops at once on a permanent failure', async () => {
    const attempts: number[] = [];
    const failed: string[] = [];
    const worker = queues.createWorker('flaky', async (job) => {
      if (job.name === 'hopeless') throw permanentFailure('payload can never work');
      attempts.push(job.attemptsMade);
      if (job.attemptsMade < 2) throw new Error('not yet');
    });
    worker.onFailed((job, error) => {
      if (job?.name === 'hopeless') failed.push(error.message);
    });
    const started = Date.now();
    await queues.add('flaky', 'eventually', {}, { attempts: 5, backoff: { type: 'fixed', delayMs: 100 } });
    await queues.add('flaky', 'hopeless', {}, { attempts: 5, backoff: { type: 'fixed', delayMs: 100 } });
    await eventually(() => attempts.length === 3 && failed.length === 1, { message: 'three attempts' });
    expect(attempts).toEqual([0, 1, 2]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(failed).toEqual(['payload can never work']);
    await eventually(
      async () => {
        const counts = await queues.counts('flaky');
        return counts.completed === 1 && counts.failed === 1;
      },
      { message: 'one completed, one failed' },
    );
    await worker.close();
  });

  it('holds the whole queue back after rateLimit, without using up an attempt', async () => {
    const runs: { id: string; at: number; attemptsMade: number }[] = [];
    let limited = false;
    const worker = queues.createWorker('limited', async (job) => {
      runs.push({ id: job.id, at: Date.now(), attemptsMade: job.attemptsMade });
      if (!limited) {
        limited = true;
        await queues.rateLimit('limited', 600);
        throw rateLimitedError();
      }
    });
    await queues.add('limited', 'post', {}, { jobId: 'post.k1', attempts: 1 });
    await eventually(() => runs.length >= 2, { message: 'rate-limited job retried' });
    expect(runs[1]!.at - runs[0]!.at).toBeGreaterThanOrEqual(500);
    expect(runs[1]!.attemptsMade).toBe(0);
    await eventually(async () => (await queues.counts('limited')).completed === 1);
    await worker.close();
  });

  it('keeps a completed job on the dashboard for a minute, then lets it go', async () => {
    const completedIds = async () => {
      const queue = queues.bullQueue('kept') as { getJobs(types: string[]): Promise<{ id?: string }[]> };
      return (await queue.getJobs(['completed'])).map((job) => job.id).sort();
    };
    const worker = queues.createWorker('kept', async () => {});
    try {
      await queues.add('kept', 'first', {}, { jobId: 'kept.k1' });
      await eventually(async () => (await completedIds()).length === 1, { message: 'first job completed' });
      // A minute later (only the clock jumps), a second job completes: the first is gone, the second kept.
      vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
      vi.setSystemTime(Date.now() + 61_000);
      await queues.add('kept', 'second', {}, { jobId: 'kept.k2' });
      await eventually(async () => (await completedIds()).join() === 'kept.k2', {
        message: 'only the job of the last minute kept',
        timeoutMs: 15_000,
      });
    } finally {
      vi.useRealTimers();
      await worker.close();
    }
  });

  it('runs a delayed job no earlier than asked', async () => {
    const ranAt: number[] = [];
    const worker = queues.createWorker('delayed', async () => {
      ranAt.push(Date.now());
    });
    const added = Date.now();
    await queues.add('delayed', 'later', {}, { delayMs: 700 });
    await eventually(() => ranAt.length === 1);
    expect(ranAt[0]! - added).toBeGreaterThanOrEqual(650);
    await worker.close();
  });

  it('keeps one scheduler per id, replaced in place and removable', async () => {
    const first = await queues.upsertSchedule(
      'schedules',
      'digest-team-1',
      { cron: '0 9 * * *', timezone: 'Europe/Athens' },
      { name: 'digest.send', data: { teamId: 1 } },
    );
    expect(first.nextRunAt!.getTime()).toBeGreaterThan(Date.now());
    await queues.upsertSchedule(
      'schedules',
      'digest-team-1',
      { cron: '30 8 * * 1', timezone: 'America/New_York' },
      { name: 'digest.send', data: { teamId: 1 } },
    );
    const schedule = await queues.getSchedule('schedules', 'digest-team-1');
    expect(schedule).toMatchObject({ cron: '30 8 * * 1', timezone: 'America/New_York' });
    // Next Monday 08:30 in New York.
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone: 'America/New_York',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).format(schedule!.nextRunAt);
    expect(parts).toBe('Mon 08:30');
    expect(await queues.removeSchedule('schedules', 'digest-team-1')).toBe(true);
    expect(await queues.getSchedule('schedules', 'digest-team-1')).toBeUndefined();
  });

  it('answers ping', async () => {
    await expect(queues.ping()).resolves.toBeUndefined();
  });

  it('lets the running job finish when closed, then stops taking jobs', async () => {
    const finished: string[] = [];
    const worker = queues.createWorker('shutdown', async (job) => {
      await sleep(400);
      finished.push(job.id);
    });
    await queues.add('shutdown', 'slow', {}, { jobId: 'slow.k1' });
    await eventually(async () => (await queues.counts('shutdown')).active === 1, { message: 'job active' });
    await worker.close();
    expect(finished).toEqual(['slow.k1']);
    await queues.add('shutdown', 'slow', {}, { jobId: 'slow.k2' });
    await sleep(600);
    expect(finished).toEqual(['slow.k1']);
    expect((await queues.counts('shutdown')).waiting).toBe(1);
  });
});

describe('backend namespaces', () => {
  it('puts every Redis key under the hash-tagged prefix, so all queues share one cluster slot', async () => {
    const prefix = uniquePrefix('tag');
    const queues = openTestQueues('redis', database.url, prefix);
    const redis = new Redis(TEST_REDIS_URL);
    try {
      await queues.add('mail', 'hello', {});
      await queues.add('slack', 'hello', {});
      const keys = await redis.keys(`*${prefix}*`);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) expect(key.startsWith(`{${prefix}}:`)).toBe(true);
      expect(queues.namespace).toBe(`{${prefix}}`);
    } finally {
      await queues.close();
      const keys = await redis.keys(`{${prefix}}:*`);
      if (keys.length) await redis.del(...keys);
      redis.disconnect();
    }
  });

  it('keeps the PostgreSQL backend in its own schema of the product database', async () => {
    const prefix = uniquePrefix('schema');
    const queues = openTestQueues('postgres', database.url, prefix);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await queues.add('mail', 'hello', {});
      const { rows } = await client.query(
        'select schema_name from information_schema.schemata where schema_name = $1',
        [queues.namespace],
      );
      expect(rows).toHaveLength(1);
      expect(queues.namespace).toBe(`bullmq_${prefix.replace(/-/g, '_')}`);
    } finally {
      await queues.close();
      await client.end();
    }
  });

  it('fails ping quickly when Redis is unreachable', async () => {
    const queues = openQueues(
      { redisUrl: 'redis://127.0.0.1:1', queuePrefix: uniquePrefix('down') },
      database.url,
      silentLogger,
    );
    const started = Date.now();
    await expect(queues.ping()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(3_000);
    await queues.close();
  });
});

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueJob } from '../../src/outbox/outbox.ts';
import { type OutboxRelay, startOutboxRelay } from '../../src/outbox/relay.ts';
import type { Orm } from '../../src/platform/database.ts';
import type { QueueJob, Queues } from '../../src/platform/queue.ts';
import { connectTestOrm, createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { eventually, openTestQueues, silentLogger, sleep, uniquePrefix } from '../helpers/workers.ts';

let database: TestDatabase;
let orm: Orm;
let admin: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase();
  orm = await connectTestOrm(database.url, silentLogger);
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await orm?.close(true);
  await database?.drop();
});

/** Writes outbox rows the way services do: inside a transaction, committed or not. */
async function enqueueInTransaction(
  teamIds: number[],
  options: { rollback?: boolean; dedupKey?: string } = {},
) {
  await orm.em
    .fork()
    .transactional(async (tx) => {
      for (const teamId of teamIds) {
        await enqueueJob(tx, 'digest.schedule', { teamId }, { dedupKey: options.dedupKey });
      }
      if (options.rollback) throw new Error('cause rolled back');
    })
    .catch((error: Error) => {
      if (error.message !== 'cause rolled back') throw error;
    });
}

/** Orders [job id, data] pairs by the data's team id. */
function byTeamId(a: [string, unknown], b: [string, unknown]): number {
  return (a[1] as { teamId: number }).teamId - (b[1] as { teamId: number }).teamId;
}

async function pendingRows(): Promise<number> {
  const { rows } = await admin.query<{ n: string }>(
    'select count(*) as n from outbox where dispatched_at is null',
  );
  return Number(rows[0]!.n);
}

/**
 * How long the tests wait for the relay to move rows. The relays under test poll once a minute
 * at most (or not at all, until woken), so anything within this wait still shows that the
 * NOTIFY, the catch-up pass or the fallback poll did the work; the rest is room for a machine
 * under load.
 */
const RELAYED_WITHIN_MS = 15_000;

describe('outbox relay', () => {
  let queues: Queues;
  const seen: QueueJob[] = [];
  /** When the worker ran each job, by job id. */
  const ranAt = new Map<string, number>();
  const relays: OutboxRelay[] = [];

  beforeAll(async () => {
    await admin.query('delete from outbox');
    queues = openTestQueues('redis', database.url, uniquePrefix('relay'));
    const worker = queues.createWorker(
      'digests',
      async (job) => {
        seen.push(job);
        ranAt.set(job.id, Date.now());
      },
      { concurrency: 20 },
    );
    await worker.ready();
  });

  afterAll(async () => {
    await Promise.all(relays.map((relay) => relay.stop()));
    await queues?.close();
  });

  function relay(pollIntervalMs: number) {
    const started = startOutboxRelay(database.url, queues, silentLogger, { pollIntervalMs, batchSize: 100 });
    relays.push(started);
    return started;
  }

  it('turns a committed row into a job named after the row, and a rolled-back one into nothing', async () => {
    const first = relay(60_000);
    await first.listening();
    await enqueueInTransaction([101]);
    await enqueueInTransaction([102], { rollback: true });
    await enqueueInTransaction([103], { dedupKey: 'team-103:daily' });
    // Polling is a minute away: only the NOTIFY can have woken the relay this soon.
    await eventually(() => seen.length === 2, { timeoutMs: RELAYED_WITHIN_MS, message: 'two jobs' });
    await sleep(200);
    const { rows } = await admin.query<{ id: string }>('select id from outbox order by id');
    // The worker runs up to 20 jobs at once: the order they started in is not the point.
    expect(seen.map((job): [string, unknown] => [job.id, job.data]).sort(byTeamId)).toEqual([
      [`digest.schedule.o${rows[0]!.id}`, { teamId: 101 }],
      ['digest.schedule.kteam-103%3adaily', { teamId: 103 }],
    ]);
    // The relay marks its rows in the transaction it commits after the queue took the jobs,
    // which can be a moment after a worker already ran them.
    await eventually(async () => (await pendingRows()) === 0, {
      timeoutMs: RELAYED_WITHIN_MS,
      message: 'rows marked dispatched',
    });
    await first.stop();
  });

  it('hands a row delayed by the cause to the queue at once, to run when it is due', async () => {
    seen.length = 0;
    const current = relay(60_000);
    await current.listening();
    const delayMs = 2_000;
    const added = Date.now();
    await orm.em.fork().transactional((tx) => enqueueJob(tx, 'digest.schedule', { teamId: 7 }, { delayMs }));
    await eventually(async () => (await pendingRows()) === 0, { timeoutMs: RELAYED_WITHIN_MS });
    // The relay did not hold the row until it was due: the queue had it well before.
    const { rows } = await admin.query<{ early: boolean }>(
      `select dispatched_at < available_at as early from outbox where payload->>'teamId' = '7'`,
    );
    expect(rows).toEqual([{ early: true }]);
    await eventually(() => seen.length === 1, { timeoutMs: delayMs + RELAYED_WITHIN_MS });
    // …and the queue ran it no earlier than asked.
    expect(ranAt.get(seen[0]!.id)! - added).toBeGreaterThanOrEqual(delayMs - 50);
    await current.stop();
  });

  it('picks up rows written while no relay ran, once one starts again', async () => {
    seen.length = 0;
    await enqueueInTransaction([201, 202, 203]);
    await sleep(300);
    expect(seen).toHaveLength(0);
    relay(60_000);
    await eventually(() => seen.length === 3, { timeoutMs: RELAYED_WITHIN_MS });
    expect(seen.map((job) => job.data)).toEqual([{ teamId: 201 }, { teamId: 202 }, { teamId: 203 }]);
    await Promise.all(relays.splice(0).map((r) => r.stop()));
  });

  it('shares the rows among several relays without sending any twice', async () => {
    seen.length = 0;
    for (let i = 0; i < 4; i++) relay(50);
    const writers = Array.from({ length: 20 }, (_, w) =>
      (async () => {
        for (let batch = 0; batch < 10; batch++) {
          await enqueueInTransaction(Array.from({ length: 5 }, (_, i) => 10_000 + w * 100 + batch * 5 + i));
        }
      })(),
    );
    await Promise.all(writers);
    await eventually(() => seen.length >= 1000, { timeoutMs: 45_000, message: '1000 jobs' });
    await sleep(300);
    expect(seen).toHaveLength(1000);
    expect(new Set(seen.map((job) => job.id)).size).toBe(1000);
    const { rows } = await admin.query<{ attempts: number; n: string }>(
      'select attempts, count(*) as n from outbox where dispatched_at is not null group by attempts',
    );
    expect(rows).toEqual([{ attempts: 1, n: expect.any(String) }]);
    await Promise.all(relays.splice(0).map((r) => r.stop()));
  }, 60_000);

  it('falls back to polling while its LISTEN connection is down, and listens again', async () => {
    seen.length = 0;
    const current = relay(300);
    await current.listening();
    await admin.query(
      `select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and query = 'listen outbox'`,
    );
    await enqueueInTransaction([301]);
    await eventually(() => seen.length === 1, {
      timeoutMs: RELAYED_WITHIN_MS,
      message: 'relayed while not listening',
    });
    await eventually(
      async () =>
        (
          await admin.query(
            `select 1 from pg_stat_activity where datname = current_database() and query = 'listen outbox'`,
          )
        ).rowCount === 1,
      { timeoutMs: RELAYED_WITHIN_MS, message: 'listening again' },
    );
    await current.stop();
  });

  it('lets one committing transaction at a time notify, and still relays every row promptly', async () => {
    seen.length = 0;
    const listener = new pg.Client({ connectionString: database.url });
    await listener.connect();
    let notifications = 0;
    listener.on('notification', () => {
      notifications += 1;
    });
    await listener.query('listen outbox');
    const current = relay(60_000);
    await current.listening();
    // A transaction that is committing (it holds the notify lock) while another commits.
    const first = new pg.Client({ connectionString: database.url });
    await first.connect();
    try {
      await first.query('begin');
      await first.query('select pg_advisory_xact_lock(7202611240)');
      await first.query(
        `insert into outbox (job, payload, available_at, created_at) values ('digest.schedule', '{"teamId": 601}', now(), now())`,
      );
      await enqueueInTransaction([602]);
      await sleep(300);
      // The second committed quietly; with polling a minute away, nothing has moved yet.
      expect(notifications).toBe(0);
      expect(seen).toHaveLength(0);
      await first.query('commit');
      // The first one's notification wakes the relay, which takes both rows (polling is a
      // minute away).
      await eventually(() => seen.length === 2, { timeoutMs: RELAYED_WITHIN_MS, message: 'both relayed' });
      expect(
        seen.map((job) => job.data).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
      ).toEqual([{ teamId: 601 }, { teamId: 602 }]);
      // Our own LISTEN connection hears that notification too (its socket, not the relay's).
      await eventually(() => notifications > 0, { timeoutMs: RELAYED_WITHIN_MS, message: 'notified' });
      expect(notifications).toBe(1);
    } finally {
      await first.end();
      await listener.end();
      await current.stop();
    }
  });

  it('keeps rows it could not hand over, and sends them once the queue is back', async () => {
    seen.length = 0;
    const broken = openTestQueues('redis', database.url, uniquePrefix('unreachable'), 'redis://127.0.0.1:1');
    const failing = startOutboxRelay(database.url, broken, silentLogger, { pollIntervalMs: 100 });
    try {
      await failing.listening();
      await enqueueInTransaction([401, 402]);
      await eventually(
        async () => {
          const { rows } = await admin.query<{ attempts: number }>(
            'select attempts from outbox where dispatched_at is null',
          );
          return rows.length === 2 && rows.every((row) => row.attempts >= 2);
        },
        // Each attempt waits out the queue's 5 s add timeout before it counts as failed.
        { timeoutMs: 40_000, message: 'failed attempts counted' },
      );
    } finally {
      await failing.stop();
      await broken.close();
    }
    relay(100);
    await eventually(() => seen.length === 2, { timeoutMs: RELAYED_WITHIN_MS });
    await Promise.all(relays.splice(0).map((r) => r.stop()));
  }, 90_000);
});

import pg from 'pg';
import { type JobName, jobIdFor, jobs, routeFor } from '../jobs/jobs.ts';
import type { Logger } from '../logger.ts';
import { ChannelListener } from '../platform/notifications.ts';
import type { BulkJob, Queues } from '../platform/queue.ts';

/**
 * Moves committed outbox rows into their queues. Each batch is claimed with FOR UPDATE SKIP
 * LOCKED, added to BullMQ with ids derived from the rows and marked dispatched in the same
 * transaction, so any number of relays can run side by side and a crash at any point leaves
 * rows to be sent again under the same job ids (which BullMQ ignores as duplicates).
 * It wakes on the outbox trigger's NOTIFY and also polls, in case a notification is missed
 * while its LISTEN connection is down.
 */

export interface RelayOptions {
  /** Fallback poll when no notification arrives. */
  pollIntervalMs?: number;
  batchSize?: number;
  /** Dispatched rows are deleted after this long. */
  retentionMs?: number;
}

export interface OutboxRelay {
  /** Stops after the batch in flight; rows it had not claimed stay for the next relay. */
  stop(): Promise<void>;
  /**
   * Resolves once the LISTEN connection is up and the catch-up pass it triggers has run, so
   * every row committed before then has been moved (tests wait for it before counting on
   * wake-ups).
   */
  listening(): Promise<void>;
}

const CHANNEL = 'outbox';
const MAX_ERROR_BACKOFF_MS = 5_000;
/**
 * After moving rows the relay stays "hot" for a while, polling often: only one of the
 * transactions committing at a time sends a NOTIFY (see the outbox trigger), so the others
 * count on this.
 */
const HOT_FOR_MS = 500;
const HOT_POLL_MS = 20;
const PRUNE_EVERY_MS = 10 * 60_000;

interface OutboxRow {
  id: string;
  job: JobName;
  payload: Record<string, unknown>;
  dedup_key: string | null;
  delay_ms: string;
}

export function startOutboxRelay(
  databaseUrl: string,
  queues: Queues,
  logger: Logger,
  options: RelayOptions = {},
): OutboxRelay {
  const log = logger.child({ component: 'outbox-relay' });
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const batchSize = options.batchSize ?? 500;
  const retentionMs = options.retentionMs ?? 24 * 3600_000;
  const knownJobs = Object.keys(jobs);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
  pool.on('error', (error) => log.warn({ err: error }, 'idle outbox connection failed'));

  let stopped = false;
  let wakeUp: (() => void) | undefined;
  let pendingWake = false;
  let hot = false;
  // While hot the relay polls every HOT_POLL_MS anyway; waking it early for every notification
  // would only cut its batches smaller.
  const wake = () => {
    if (hot) return;
    pendingWake = true;
    wakeUp?.();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (pendingWake || stopped) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wakeUp = undefined;
        resolve();
      }
      wakeUp = done;
    });

  // The listener's first wake-up comes once LISTEN is up; the first pass that starts after it has
  // seen every row committed before, and listening() waits for that pass.
  let passesStarted = 0;
  let catchUpPass: number | undefined;
  const caughtUp = Promise.withResolvers<void>();
  const heard = () => {
    catchUpPass ??= passesStarted + 1;
    wake();
  };
  // Every (re)connect also triggers a pass: rows committed while it was down notified nobody.
  const listener = new ChannelListener(
    { connectionString: databaseUrl },
    CHANNEL,
    { notified: heard, listening: heard },
    log,
  );

  async function relayBatch(): Promise<number> {
    const client = await pool.connect();
    // A connection lost mid-batch also emits 'error' on the checked-out client; the failed query
    // already reports it, and an unheard 'error' event would end the process.
    const ignore = () => {};
    client.on('error', ignore);
    let claimed: OutboxRow[] = [];
    try {
      // Losing this commit in a database crash would only send the rows again under the same job
      // ids, which the queue ignores: it need not wait for the disk.
      await client.query('begin; set local synchronous_commit = off');
      // Claim and mark in one statement; the transaction stays open until the queue has the
      // jobs, so a failure rolls the mark back. Rows of jobs this version does not know (a newer
      // deploy wrote them) are left for a relay that does.
      const { rows } = await client.query<OutboxRow>(
        `with claimed as (
           select id from outbox
            where dispatched_at is null and job = any($1)
            order by id
            limit $2
            for update skip locked
         )
         update outbox o set dispatched_at = now(), attempts = o.attempts + 1
           from claimed where o.id = claimed.id
         returning o.id, o.job, o.payload, o.dedup_key,
                   greatest(0, extract(epoch from o.available_at - now()) * 1000)::bigint as delay_ms`,
        [knownJobs, batchSize],
      );
      claimed = rows;
      if (rows.length === 0) {
        await client.query('commit');
        return 0;
      }
      rows.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
      const byQueue = new Map<string, BulkJob[]>();
      for (const row of rows) {
        const jobId = jobIdFor(row.job, { outboxId: row.id, dedupKey: row.dedup_key });
        const route = routeFor(row.job, { jobId, delayMs: Number(row.delay_ms) });
        const batch = byQueue.get(route.queue) ?? [];
        batch.push({ name: row.job, data: row.payload, opts: route.opts });
        byQueue.set(route.queue, batch);
      }
      await Promise.all([...byQueue].map(([queue, batch]) => queues.addBulk(queue, batch)));
      await client.query('commit');
      return rows.length;
    } catch (error) {
      await client.query('rollback').catch(() => {});
      if (claimed.length > 0) {
        await pool
          .query('update outbox set attempts = attempts + 1 where id = any($1::bigint[])', [
            claimed.map((row) => row.id),
          ])
          .catch(() => {});
      }
      throw error;
    } finally {
      client.off('error', ignore);
      client.release();
    }
  }

  async function prune(): Promise<void> {
    const { rowCount } = await pool.query(
      `delete from outbox where id in (
         select id from outbox where dispatched_at < now() - ($1 * interval '1 millisecond') limit 10000)`,
      [retentionMs],
    );
    await pool.query(`delete from job_receipts where created_at < now() - interval '30 days'`);
    if (rowCount) log.debug({ rows: rowCount }, 'pruned dispatched outbox rows');
  }

  const loop = (async () => {
    let failures = 0;
    let lastPrune = 0;
    let lastMoved = 0;
    while (!stopped) {
      pendingWake = false;
      const pass = ++passesStarted;
      try {
        const batchStarted = performance.now();
        const moved = await relayBatch().finally(() => {
          if (catchUpPass !== undefined && pass >= catchUpPass) caughtUp.resolve();
        });
        if (moved > 0)
          log.debug({ moved, ms: Math.round(performance.now() - batchStarted) }, 'outbox rows relayed');
        if (failures > 0) log.info({ failures }, 'outbox relay recovered');
        failures = 0;
        if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
          lastPrune = Date.now();
          await prune();
        }
        // A full batch: more are waiting, go again at once. Some rows: more are probably being
        // committed, so look again shortly (a short pause gathers them into one batch).
        if (moved === batchSize) continue;
        if (moved > 0) lastMoved = Date.now();
        hot = Date.now() - lastMoved < HOT_FOR_MS;
        await sleep(hot ? HOT_POLL_MS : pollIntervalMs);
        hot = false;
      } catch (error) {
        failures += 1;
        const backoff = Math.min(100 * 2 ** failures, MAX_ERROR_BACKOFF_MS);
        (failures === 1 ? log.warn.bind(log) : log.debug.bind(log))(
          { err: error, failures, retryInMs: backoff },
          'outbox relay could not move rows; retrying',
        );
        pendingWake = false;
        await sleep(backoff);
      }
    }
  })();

  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        stopped = true;
        wakeUp?.();
        await loop;
        caughtUp.resolve();
        await listener.close();
        await pool.end();
      })();
      return stopping;
    },
    listening: () => caughtUp.promise,
  };
}

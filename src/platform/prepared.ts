import type pg from 'pg';
import type { Orm } from './database.ts';

/**
 * Statements for the paths one caller waits on (a posting, an SMS charge, the key and caller
 * lookups): sent straight to the ORM's own `pg` pool as named prepared statements, so
 * PostgreSQL parses and plans each once per connection, and Node formats no SQL per call.
 */
export interface PreparedStatement {
  /** Unique per statement text: a connection keeps the plan under this name. */
  name: string;
  text: string;
}

const pools = new WeakMap<Orm, Promise<pg.Pool>>();

/** The `pg` pool behind the ORM: the same connections and limit as every other query. */
export function poolOf(orm: Orm): Promise<pg.Pool> {
  let pool = pools.get(orm);
  if (!pool) {
    pool = orm.em.getConnection().getNativeClient() as Promise<pg.Pool>;
    pools.set(orm, pool);
  }
  return pool;
}

export async function runPrepared<T extends pg.QueryResultRow>(
  orm: Orm,
  statement: PreparedStatement,
  values: readonly unknown[],
): Promise<T[]> {
  const pool = await poolOf(orm);
  const result = await pool.query<T>({ name: statement.name, text: statement.text, values: [...values] });
  return result.rows;
}

/** A prepared statement with its values, for one transaction's pipeline. */
export interface PreparedCall {
  statement: PreparedStatement;
  values: readonly unknown[];
}

/**
 * Prepared statements run in order in ONE transaction on one connection, sent together in one
 * round trip: BEGIN, the statements and COMMIT are written at once (pg's pipeline mode) and
 * PostgreSQL runs them one after the other, each with a fresh snapshot. Resolves to the last
 * statement's rows. When one fails, PostgreSQL refuses the rest of the transaction, its COMMIT
 * rolls everything back, and this rejects with the first error: nothing of it is written.
 *
 * The one-statement postings lock their rows here first, each in a statement of its own: a
 * statement that locks a row and then updates it would update the version its snapshot saw, and
 * re-locking that old version queues behind transactions waiting for the new one — a deadlock
 * PostgreSQL reported under the mixed-load test. Locked first, the rows are the newest versions
 * in the next statement's snapshot.
 */
export async function inPreparedTransaction<R extends pg.QueryResultRow>(
  orm: Orm,
  calls: readonly PreparedCall[],
): Promise<R[]> {
  const client = await (await poolOf(orm)).connect();
  // Pipeline mode only for this transaction: the pool's connections serve every other query too,
  // which expects one statement on the wire at a time (a timed-out pipelined query, say, ends
  // its connection).
  const pipelined = client as pg.PoolClient & { pipeline: boolean };
  pipelined.pipeline = true;
  let broken: unknown;
  try {
    const sent = [
      client.query('begin'),
      ...calls.map(({ statement, values }) =>
        client.query<R>({ name: statement.name, text: statement.text, values: [...values] }),
      ),
      client.query('commit'),
    ];
    const settled = await Promise.allSettled(sent);
    const failed = settled.find((outcome) => outcome.status === 'rejected');
    if (failed) {
      // COMMIT after a failed statement rolls back; without an answer to it, the connection's
      // state is unknown and it must not go back to the pool.
      if (settled.at(-1)!.status === 'rejected') broken = failed.reason;
      throw failed.reason;
    }
    return (settled.at(-2) as PromiseFulfilledResult<pg.QueryResult<R>>).value.rows;
  } finally {
    pipelined.pipeline = false;
    client.release(broken instanceof Error ? broken : undefined);
  }
}

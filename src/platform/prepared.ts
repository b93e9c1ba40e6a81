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
function poolOf(orm: Orm): Promise<pg.Pool> {
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

/**
 * Prepared statements in one transaction on one connection. The one-statement postings lock
 * their rows here first, each in a statement of its own: a statement that locks a row and then
 * updates it would update the version its snapshot saw, and re-locking that old version queues
 * behind transactions waiting for the new one — a deadlock PostgreSQL reported under the
 * mixed-load test. Locked first, the rows are the newest versions in the next statement's snapshot.
 */
export async function inPreparedTransaction<T>(
  orm: Orm,
  work: (
    run: <R extends pg.QueryResultRow>(
      statement: PreparedStatement,
      values: readonly unknown[],
    ) => Promise<R[]>,
  ) => Promise<T>,
): Promise<T> {
  const client = await (await poolOf(orm)).connect();
  try {
    await client.query('begin');
    const result = await work(async (statement, values) => {
      const { rows } = await client.query({
        name: statement.name,
        text: statement.text,
        values: [...values],
      });
      return rows;
    });
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

import type pg from 'pg';
import type { Orm } from './database.ts';

/**
 * Statements for the paths one caller waits on (a posting, an SMS charge): sent straight to the
 * ORM's own `pg` pool as named prepared statements, so PostgreSQL parses and plans each once per
 * connection, and Node formats no SQL per call. Each runs as a transaction of its own
 * (autocommit): one round trip, where BEGIN … COMMIT around it would be three.
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

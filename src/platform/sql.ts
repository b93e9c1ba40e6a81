import type { EntityManager } from '@mikro-orm/postgresql';
import type pg from 'pg';
import Cursor from 'pg-cursor';
import { Limiter } from './limiter.ts';

/**
 * Typed wrappers around raw SQL through the EntityManager, so a statement joins whatever
 * transaction the EntityManager is in. Placeholders are `?`; PostgreSQL returns bigint and
 * numeric columns as strings.
 */
export async function queryAll<T>(
  em: EntityManager,
  sql: string,
  params: readonly unknown[] = [],
): Promise<T[]> {
  return (await em.execute(sql, params as unknown[], 'all')) as T[];
}

export async function queryOne<T>(
  em: EntityManager,
  sql: string,
  params: readonly unknown[] = [],
): Promise<T | undefined> {
  const rows = await queryAll<T>(em, sql, params);
  return rows[0];
}

/** Runs a statement and returns how many rows it changed. */
export async function run(em: EntityManager, sql: string, params: readonly unknown[] = []): Promise<number> {
  const result = (await em.execute(sql, params as unknown[], 'run')) as { affectedRows?: number };
  return result.affectedRows ?? 0;
}

/**
 * Rows read through a database cursor, `batch` at a time, only as fast as the consumer takes them:
 * memory stays flat however many rows match. The next batch is fetched while the consumer handles
 * the current one. Stopping early (leaving the loop, or destroying a stream made from it) closes
 * the cursor and gives the connection back to the ORM's pool; until then it holds one connection.
 */
export async function* streamRows<R, T>(
  em: EntityManager,
  sql: string,
  params: readonly unknown[],
  map: (row: R) => T,
  batch = 5_000,
): AsyncGenerator<T[]> {
  for await (const rows of cursorBatches<R>(em, sql, params, batch, {})) yield rows.map(map);
}

/** Every column as PostgreSQL's text output, unparsed: the cheapest way to read rows that are written out as text. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

/**
 * `streamRows` for rows written straight out as text (statements): each row an array of the
 * columns' text in the query's order (null for SQL null), no object built and no field parsed, so
 * the query itself formats what needs formatting (`to_char` for times).
 */
export function streamTextRows(
  em: EntityManager,
  sql: string,
  params: readonly unknown[],
  batch = 5_000,
): AsyncGenerator<(string | null)[][]> {
  return cursorBatches<(string | null)[]>(em, sql, params, batch, { rowMode: 'array', types: RAW_TEXT });
}

/** Statements streamed at once per pool: a quarter of its connections, at least one. */
const cursorPlaces = new WeakMap<object, Limiter>();

function cursorPlacesOf(pool: { options: { max?: number } }): Limiter {
  let places = cursorPlaces.get(pool);
  if (!places) {
    places = new Limiter(Math.max(1, Math.floor((pool.options.max ?? 10) / 4)));
    cursorPlaces.set(pool, places);
  }
  return places;
}

/**
 * A cursor holds its pooled connection until the last row is written, for as long as a slow
 * client takes to read a million rows. So at most a quarter of the pool streams at once; more
 * statements wait their turn without a connection, and the rest of the pool keeps answering
 * every other request.
 */
async function* cursorBatches<R>(
  em: EntityManager,
  sql: string,
  params: readonly unknown[],
  batch: number,
  config: Cursor.CursorQueryConfig,
): AsyncGenerator<R[]> {
  const pool = await em.getConnection().getNativeClient();
  const release = await cursorPlacesOf(pool).acquire();
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    release();
    throw error;
  }
  const cursor = client.query(
    new Cursor<R>(em.getPlatform().formatQuery(sql, [...params]), undefined, config),
  );
  let pending: Promise<R[]> | undefined = cursor.read(batch);
  let failure: unknown;
  try {
    for (;;) {
      const rows: R[] = await pending;
      if (rows.length === 0) break;
      pending = cursor.read(batch);
      yield rows;
    }
    pending = undefined;
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    // A batch still on its way when the consumer stopped is waited for, then the cursor closed.
    if (pending) await pending.catch(() => undefined);
    if (failure === undefined) await cursor.close().catch((error: unknown) => (failure = error));
    // A connection whose query failed is not given back for reuse.
    client.release(failure instanceof Error ? failure : undefined);
    release();
  }
}

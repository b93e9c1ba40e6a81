import type { EntityManager } from '@mikro-orm/postgresql';

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

import type { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import type { Logger } from '../logger.ts';

export type Orm = MikroORM;

/** Arbitrary constant: the advisory lock that serializes migrations across instances. */
const MIGRATION_LOCK = 7_202_611_23;

/**
 * Applies pending migrations while holding a PostgreSQL advisory lock, so several instances
 * starting at once migrate one after another (the later ones find nothing to do).
 */
export async function migrate(orm: Orm, url: string, logger: Logger): Promise<string[]> {
  const lockClient = new pg.Client({ connectionString: url });
  // A connection lost while idle is reported by the queries below; unlistened, it would crash.
  lockClient.on('error', () => {});
  await lockClient.connect();
  try {
    await lockClient.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const pending = await orm.migrator.getPending();
    if (pending.length > 0) logger.info(`applying ${pending.length} database migrations`);
    const applied = await orm.migrator.up();
    if (applied.length > 0) logger.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
    return applied.map((m) => m.name);
  } finally {
    await lockClient.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    await lockClient.end();
  }
}

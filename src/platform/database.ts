import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import pg from 'pg';
import { createLogger, type Logger } from '../logger.ts';
import { entities } from './entities.ts';

export type Orm = MikroORM;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const migrationsPath = path.join(root, 'migrations');

/** How long a transaction may wait for a pooled connection before it fails. */
const POOL_WAIT_MS = 30_000;

export function ormOptions(
  url: string,
  logger: Logger = createLogger('silent'),
  overrides: Partial<Options> = {},
): Options {
  const ormLogger = logger.child({ component: 'orm' });
  return {
    clientUrl: url,
    logger: (message) => ormLogger.debug(message),
    entities,
    extensions: [Migrator],
    migrations: {
      path: migrationsPath,
      pathTs: migrationsPath,
      glob: '!(*.d).ts',
      emit: 'ts',
      // Migrations are written by hand and reviewed; the schema diff is checked against a
      // migrated database (migration:check), so no snapshot file has to be kept in step.
      snapshot: false,
      transactional: true,
      allOrNothing: true,
    },
    // A burst waits for a connection rather than failing: up to POOL_WAIT_MS in the queue, after
    // which the request fails with an error instead of hanging. Connections live through a lull
    // of a minute (opening 20 at once on a busy host stalls everything for a moment).
    pool: { min: 0, max: 20, idleTimeoutMillis: 60_000 },
    driverOptions: { connectionTimeoutMillis: POOL_WAIT_MS },
    debug: false,
    ...overrides,
  };
}

export async function connectOrm(
  url: string,
  logger: Logger = createLogger('silent'),
  overrides: Partial<Options> = {},
): Promise<Orm> {
  return MikroORM.init(ormOptions(url, logger, overrides));
}

/** Arbitrary constant: the advisory lock that serializes migrations across instances. */
const MIGRATION_LOCK = 7_202_611_23;

/**
 * Applies pending migrations while holding a PostgreSQL advisory lock, so several instances
 * starting at once migrate one after another (the later ones find nothing to do).
 */
export async function migrate(orm: Orm, url: string, logger: Logger): Promise<string[]> {
  const lockClient = new pg.Client({ connectionString: url });
  await lockClient.connect();
  try {
    await lockClient.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await orm.migrator.up();
    if (applied.length > 0) logger.info({ migrations: applied.map((m) => m.name) }, 'migrations applied');
    return applied.map((m) => m.name);
  } finally {
    await lockClient.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
    await lockClient.end();
  }
}

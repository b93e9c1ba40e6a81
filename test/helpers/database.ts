import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createLogger, type Logger } from '../../src/logger.ts';
import { connectOrm, poolOptions } from '../../src/orm.ts';
import type { Orm } from '../../src/platform/database.ts';
import { databaseUrl, TEST_POSTGRES_URL } from './env.ts';

/**
 * Each test file's ORM pools, in this process and in the processes it starts, hold at most this
 * many connections: four files run at once, several with more than one process, and the
 * machine's PostgreSQL allows 100 clients in all.
 */
const TEST_DATABASE_POOL_MAX = 8;

/** A test's ORM on a test database, its pool sized for the suite (TEST_DATABASE_POOL_MAX). */
export function connectTestOrm(url: string, logger: Logger = createLogger('silent')): Promise<Orm> {
  return connectOrm(url, logger, { pool: poolOptions(TEST_DATABASE_POOL_MAX) });
}

/** The environment that points a process the test starts at a test database. */
export function databaseEnv(url: string): { DATABASE_URL: string; DATABASE_POOL_MAX: string } {
  return { DATABASE_URL: url, DATABASE_POOL_MAX: String(TEST_DATABASE_POOL_MAX) };
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A private, migrated database for one test file, copied from the template built in global setup. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `teamops_t_${randomBytes(5).toString('hex')}`;
  await adminQuery(`create database "${name}" template ${inject('templateDatabase')}`);
  return {
    name,
    url: databaseUrl(name),
    drop: () => adminQuery(`drop database if exists "${name}" with (force)`),
  };
}

async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { databaseUrl, TEST_POSTGRES_URL } from './env.ts';

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

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createLogger } from '../src/logger.ts';
import { connectOrm } from '../src/orm.ts';
import { migrate } from '../src/platform/database.ts';
import { findOrInstallChromium } from './helpers/chromium.ts';
import { databaseUrl, TEST_POSTGRES_URL } from './helpers/env.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
    /** The page tests' browser, or why there is none (test/helpers/browser.ts). */
    chromium: { path: string } | { error: string };
  }
}

/**
 * Builds one migrated template database for this run; every test file then copies it into a
 * database of its own (CREATE DATABASE … TEMPLATE), which takes milliseconds and lets files run
 * in parallel. Several runs may share the machine, so each has its own template.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const template = `teamops_tpl_${randomBytes(4).toString('hex')}`;
  await adminQuery(async (admin) => {
    // Leftovers of runs that were killed before their teardown; ones still in use refuse to go,
    // and one another run drops meanwhile has no file to stat (missing_ok).
    const stale = await admin.query<{ datname: string }>(
      `select datname from pg_database d
        where (datname like 'teamops\\_t\\_%' or datname like 'teamops\\_tpl\\_%')
          and not exists (select 1 from pg_stat_activity a where a.datname = d.datname)
          and (pg_stat_file('base/' || d.oid || '/PG_VERSION', true)).modification < now() - interval '2 hours'`,
    );
    for (const { datname } of stale.rows)
      await admin.query(`drop database if exists "${datname}"`).catch(() => {});
    await admin.query(`create database ${template}`);
  });
  const url = databaseUrl(template);
  const orm = await connectOrm(url, createLogger('silent'));
  try {
    await migrate(orm, url, createLogger('silent'));
  } finally {
    await orm.close(true);
  }
  project.provide('templateDatabase', template);
  // Once for the run, before any file starts: page tests in parallel files would otherwise race
  // each other into apt on a machine without Chromium.
  project.provide(
    'chromium',
    await findOrInstallChromium().then(
      (path) => ({ path }),
      (error: Error) => ({ error: error.message }),
    ),
  );
  return async () => {
    await adminQuery((admin) => admin.query(`drop database if exists ${template} with (force)`));
  };
}

async function adminQuery<T>(work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

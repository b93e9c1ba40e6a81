import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { closeServices, createServices, type Services } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import type { Orm } from '../../src/platform/database.ts';
import { openQueues, type Queues } from '../../src/platform/queue.ts';
import { startWorkers, type Workers } from '../../workers/index.ts';
import { connectTestOrm, createTestDatabase, databaseEnv, type TestDatabase } from './database.ts';
import { TEST_REDIS_URL } from './env.ts';
import { type FakeSlack, startFakeSlack } from './fake-slack.ts';
import { startSmtpServer, type TestSmtpServer } from './smtp.ts';
import { silentLogger, uniquePrefix } from './workers.ts';

export const PUBLIC_URL = 'http://teamops.test';

export interface WorkerHarness {
  db: TestDatabase;
  orm: Orm;
  services: Services;
  config: Config;
  queues: Queues;
  workers: Workers;
  slack: FakeSlack;
  smtp: TestSmtpServer;
  /** Raw SQL on the test database, for looking behind the services. */
  sql: pg.Pool;
  /** The environment a worker process for this harness would get. */
  env: Record<string, string>;
}

/**
 * The whole background half on a database of this file's own: services, queues on Redis under
 * a prefix of its own, the relay and every worker in-process, an SMTP server and a fake Slack.
 */
export function useWorkerHarness(
  options: { workers?: boolean; backend?: 'redis' | 'postgres' } = {},
): WorkerHarness {
  const harness = {} as WorkerHarness;
  beforeAll(async () => {
    harness.db = await createTestDatabase();
    harness.slack = await startFakeSlack();
    harness.smtp = await startSmtpServer();
    harness.env = {
      ...databaseEnv(harness.db.url),
      ...(options.backend === 'postgres' ? {} : { REDIS_URL: TEST_REDIS_URL }),
      QUEUE_PREFIX: uniquePrefix('workers'),
      SLACK_SIGNING_SECRET: 'test-signing-secret',
      SLACK_BOT_TOKEN: 'xoxb-test-token',
      SLACK_API_URL: harness.slack.apiUrl,
      SMTP_URL: harness.smtp.url,
      MAIL_FROM: 'teamops <no-reply@teamops.test>',
      PUBLIC_URL,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      // A worker process also serves /healthz, /readyz and /metrics: any free port.
      PORT: '0',
      // Worker processes this harness spawns derive the same invitation links as this one.
      SERVER_SECRET: 'worker-harness-server-secret-0123456789',
    };
    harness.config = loadConfig(harness.env);
    harness.orm = await connectTestOrm(harness.db.url, silentLogger);
    harness.services = createServices(harness.orm, { serverSecret: harness.config.serverSecret });
    harness.queues = openQueues(harness.config, harness.db.url, silentLogger);
    harness.sql = new pg.Pool({ connectionString: harness.db.url, max: 3 });
    if (options.workers !== false) {
      harness.workers = startWorkers(
        {
          config: harness.config,
          logger: silentLogger,
          orm: harness.orm,
          services: harness.services,
          queues: harness.queues,
        },
        { databaseUrl: harness.db.url, relay: { pollIntervalMs: 500 } },
      );
      await harness.workers.ready();
    }
  });
  afterAll(async () => {
    await harness.workers?.stop();
    if (harness.services) await closeServices(harness.services);
    await harness.queues?.close();
    await harness.sql?.end();
    await harness.orm?.close(true);
    await harness.slack?.close();
    await harness.smtp?.close();
    await harness.db?.drop();
  });
  return harness;
}

/** The nonce of an invitation's current link, as its delivery job carries it. */
export async function invitationNonce(sql: pg.Pool, invitationId: number): Promise<string> {
  const { rows } = await sql.query<{ token_nonce: string }>(
    'select token_nonce from invitations where id = $1',
    [invitationId],
  );
  if (!rows[0]) throw new Error(`no invitation ${invitationId}`);
  return rows[0].token_nonce;
}

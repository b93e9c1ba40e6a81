import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { type Runtime, startRuntime } from '../../src/runtime.ts';
import { createTestDatabase, databaseEnv, type TestDatabase } from '../helpers/database.ts';
import { TEST_REDIS_URL } from '../helpers/env.ts';
import { type FakeSlack, startFakeSlack } from '../helpers/fake-slack.ts';
import { SlackRequests } from '../helpers/slack-requests.ts';
import { startSmtpServer, type TestSmtpServer } from '../helpers/smtp.ts';
import { uniquePrefix } from '../helpers/workers.ts';

export const SIGNING_SECRET = 'hardening-signing-secret';
export const WEBHOOK_SECRET = 'hardening-webhook-secret-0123456789';

export interface RuntimeHarness {
  db: TestDatabase;
  slack: FakeSlack;
  smtp: TestSmtpServer;
  /** The web processes started, each a real runtime (runtime.ts) on a port of its own. */
  runtimes: Runtime[];
  /** Base URL of the first runtime. */
  base: string;
  bases: string[];
  slackRequests(base?: string, teamId?: string): SlackRequests;
  env: Record<string, string>;
}

/**
 * The product as `npm start` composes it (startRuntime: every mount, the shared rate limits,
 * the workers), on this file's own database, queue prefix, fake Slack and SMTP server.
 * `processes` starts that many web processes sharing the same database and Redis.
 */
export function useRuntime(
  options: { env?: Record<string, string>; processes?: number; redis?: boolean; workers?: boolean } = {},
): RuntimeHarness {
  const h = { runtimes: [], bases: [] } as unknown as RuntimeHarness;
  let dataDir = '';
  beforeAll(async () => {
    h.db = await createTestDatabase();
    h.slack = await startFakeSlack();
    h.smtp = await startSmtpServer();
    dataDir = await mkdtemp(path.join(tmpdir(), 'teamops-hardening-'));
    h.env = {
      PORT: '0',
      ...databaseEnv(h.db.url),
      ...(options.redis === false ? {} : { REDIS_URL: TEST_REDIS_URL }),
      QUEUE_PREFIX: uniquePrefix('hardening'),
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: 'xoxb-hardening',
      SLACK_API_URL: h.slack.apiUrl,
      SMTP_URL: h.smtp.url,
      SMSTO_WEBHOOK_SECRET: WEBHOOK_SECRET,
      SMS_SANDBOX_DELAY_MS: '60000',
      DATA_DIR: dataDir,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      ...options.env,
    };
    const config = loadConfig(h.env);
    const logger = createLogger(config.logLevel);
    for (let i = 0; i < (options.processes ?? 1); i++) {
      const runtime = await startRuntime(config, logger, {
        web: true,
        worker: i === 0 && options.workers !== false,
      });
      h.runtimes.push(runtime);
      h.bases.push(`http://127.0.0.1:${(runtime.server!.address() as AddressInfo).port}`);
    }
    h.base = h.bases[0]!;
    // One per endpoint and team, so response ids (numbered per instance) never repeat.
    const clients = new Map<string, SlackRequests>();
    h.slackRequests = (base = h.base, teamId = 'T0HARD') => {
      const key = `${base} ${teamId}`;
      if (!clients.has(key)) {
        clients.set(
          key,
          new SlackRequests({
            endpoint: `${base}/slack/events`,
            signingSecret: SIGNING_SECRET,
            teamId,
            fakeSlack: h.slack,
          }),
        );
      }
      return clients.get(key)!;
    };
  }, 120_000);
  afterAll(async () => {
    for (const runtime of h.runtimes.reverse()) await runtime.stop();
    await h.slack?.close();
    await h.smtp?.close();
    await h.db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 60_000);
  return h;
}

/** A team set up by the operator, with its owner's API key and email (for the Textmagic API). */
export async function seedRuntimeTeam(
  h: RuntimeHarness,
  slackTeamId = `T${uniquePrefix('x').slice(-8).toUpperCase()}`,
) {
  const services = h.runtimes[0]!.deps.services;
  const tag = slackTeamId.toLowerCase();
  const { team, owner, apiKey } = await services.teams.setup({
    slackTeamId,
    name: `Team ${tag}`,
    currency: 'EUR',
    owner: {
      name: 'Olivia Owner',
      email: `owner-${tag}@example.com`,
      slackUserId: `UOWN${tag.slice(-6).toUpperCase()}`,
    },
    via: 'cli',
  });
  return { team, owner, apiKey, services };
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions
type Json = any;

export async function call(
  base: string,
  method: string,
  url: string,
  options: { headers?: Record<string, string>; json?: unknown; body?: string } = {},
): Promise<{ status: number; headers: Headers; text: string; json: Json }> {
  const response = await fetch(`${base}${url}`, {
    method,
    headers: {
      ...(options.json !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    body: options.json !== undefined ? JSON.stringify(options.json) : options.body,
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

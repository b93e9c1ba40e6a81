import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, expect } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { Logger } from '../../src/logger.ts';
import { type Runtime, startRuntime } from '../../src/runtime.ts';
import { createTestDatabase, databaseEnv, type TestDatabase } from '../helpers/database.ts';
import { TEST_REDIS_URL } from '../helpers/env.ts';
import { type FakeSlack, type FakeWorkspace, startFakeSlack } from '../helpers/fake-slack.ts';
import { uniquePrefix } from '../helpers/workers.ts';

export const SIGNING_SECRET = 'multi-signing-secret';
export const TOKEN_KEY = Buffer.alloc(32, 7).toString('base64');
export const CLIENT = { id: '1111.2222', secret: 'client-secret-multi' };

export interface MultiWorkspaceProduct {
  db: TestDatabase;
  fakeSlack: FakeSlack;
  runtime: Runtime;
  /** Where the test reaches the product's HTTP server. */
  base: string;
}

/**
 * The whole product (startRuntime) in multi-workspace mode over a database of the file's own,
 * with queues on PostgreSQL (so every job is in the database too) and SLACK_API_URL at a fake
 * Slack; `beforeStart` runs once the fake is up (Socket Mode needs its server first).
 */
export function useMultiWorkspaceProduct(
  options: {
    env?: Record<string, string>;
    logger?: Logger;
    worker?: boolean;
    beforeStart?: (fakeSlack: FakeSlack) => Promise<void>;
    afterStop?: () => Promise<void>;
  } = {},
): MultiWorkspaceProduct {
  const p = {} as MultiWorkspaceProduct;
  beforeAll(async () => {
    p.db = await createTestDatabase();
    p.fakeSlack = await startFakeSlack();
    await options.beforeStart?.(p.fakeSlack);
    const config = loadConfig({
      PORT: '0',
      ...databaseEnv(p.db.url),
      // Queues on Redis: the PostgreSQL backend's pools would take a third of the suite's
      // connections for this file alone (test/workers/postgres-backend.test.ts covers it).
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: uniquePrefix('multi'),
      PUBLIC_URL,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_CLIENT_ID: CLIENT.id,
      SLACK_CLIENT_SECRET: CLIENT.secret,
      SLACK_STATE_SECRET: 'state-secret-for-the-multi-test',
      TOKEN_ENCRYPTION_KEY: TOKEN_KEY,
      SLACK_API_URL: p.fakeSlack.apiUrl,
      ...options.env,
    });
    p.runtime = await startRuntime(config, options.logger ?? pino({ level: 'silent' }), {
      web: true,
      worker: options.worker ?? true,
    });
    p.base = `http://127.0.0.1:${(p.runtime.server!.address() as AddressInfo).port}`;
  }, 60_000);
  afterAll(async () => {
    await p.runtime?.stop();
    await options.afterStop?.();
    await p.fakeSlack?.close();
    await p.db?.drop();
  });
  return p;
}

/** The deployment's PUBLIC_URL in the multi-workspace tests; the browser reaches it at the test server. */
export const PUBLIC_URL = 'https://teamops.test';

/** A browser: keeps the cookies the product sets, and reaches PUBLIC_URL at the test server (`base`). */
export class Browser {
  readonly cookies = new Map<string, string>();
  readonly base: string;

  constructor(base: string) {
    this.base = base;
  }

  async get(url: string): Promise<Response> {
    const target = new URL(url.replace(PUBLIC_URL, this.base));
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(target, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, value] = pair!.split('=');
      if (/Expires=Thu, 01 Jan 1970/.test(line)) this.cookies.delete(name!);
      else this.cookies.set(name!, value!);
    }
    return response;
  }
}

export interface InstallStart {
  browser: Browser;
  authorizeUrl: URL;
  page: string;
}

/** Opens /slack/install and reads the "Add to Slack" link. */
export async function startInstall(browser: Browser): Promise<InstallStart> {
  const response = await browser.get(`${PUBLIC_URL}/slack/install`);
  expect(response.status).toBe(200);
  const page = await response.text();
  const href = /id="add-to-slack" href="([^"]+)"/.exec(page)?.[1];
  expect(href).toBeDefined();
  const decoded = href!.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
  return { browser, authorizeUrl: new URL(decoded.replaceAll('&amp;', '&')), page };
}

/** The installer clicks "Add to Slack", then "Allow"; Slack sends the browser back to the product. */
export async function install(
  fakeSlack: FakeSlack,
  base: string,
  workspace: FakeWorkspace,
): Promise<{ page: string; redirect: string; browser: Browser }> {
  const { browser, authorizeUrl } = await startInstall(new Browser(base));
  fakeSlack.approveInstall(workspace);
  const atSlack = await browser.get(authorizeUrl.toString());
  expect(atSlack.status, await atSlack.clone().text()).toBe(302);
  const redirect = atSlack.headers.get('location')!;
  const back = await browser.get(redirect);
  const page = await back.text();
  expect(back.status, page).toBe(200);
  return { page, redirect, browser };
}

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import * as membersRoutes from '../../src/http/api/members.routes.ts';
import * as messagingRoutes from '../../src/http/api/messaging.routes.ts';
import * as statsRoutes from '../../src/http/api/stats.routes.ts';
import { mountProviderReports } from '../../src/http/provider-reports.routes.ts';
import { createHttpApp, type HttpDeps } from '../../src/http/server.ts';
import { createLogger } from '../../src/logger.ts';
import { MessagingService, messagingSettings } from '../../src/messaging/messaging.service.ts';
import type { Orm } from '../../src/platform/database.ts';
import type { Queues } from '../../src/platform/queue.ts';
import { queryOne } from '../../src/platform/sql.ts';
import { operator } from '../../src/shared/actor.ts';
import { seedTeam, useServices } from '../helpers/services.ts';
import { type FakeSmsto, startFakeSmsto } from './fake-smsto.ts';
import { expectStatsEqualLog, fund, runMessagingJobs } from './helpers.ts';

const SECRET = 'whsec_0123456789abcdefghijklmnop';
const PUBLIC_URL = 'https://teamops.example.com';
const API_KEY = 'smsto-key';
const RECIPIENT = '+4917012345678';

const h = useServices();
let fake: FakeSmsto;
let app: App;

interface App {
  base: string;
  close(): Promise<void>;
}

/** The product's HTTP app as the runtime composes it (native API and the webhook), on a real port. */
async function startApp(orm: Orm, services: Services, config: Config): Promise<App> {
  const deps: HttpDeps = { config, logger: createLogger('silent'), orm, services, queues: {} as Queues };
  const express = createHttpApp(deps, {
    apiRoutes: [membersRoutes, messagingRoutes, statsRoutes],
    mounts: [(e) => mountProviderReports(e, deps)],
  });
  const server = await new Promise<Server>((resolve) => {
    const s = express.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function smstoConfig(extra: Record<string, string> = {}): Config {
  return loadConfig({
    SMS_PROVIDER: 'smsto',
    SMSTO_API_URL: fake.url,
    SMSTO_API_KEY: API_KEY,
    PUBLIC_URL,
    ...extra,
  });
}

beforeAll(async () => {
  fake = await startFakeSmsto(API_KEY);
  const config = smstoConfig({ SMSTO_WEBHOOK_SECRET: SECRET });
  const logger = createLogger('silent');
  h.services.messaging = new MessagingService(h.orm, messagingSettings(config.sms, logger), logger);
  app = await startApp(h.orm, h.services, config);
});
afterAll(async () => {
  await app?.close();
  await fake?.close();
});

interface Reply {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions
  json: any;
  type: string | null;
}

async function call(base: string, method: string, path: string, init: RequestInit = {}): Promise<Reply> {
  const response = await fetch(`${base}${path}`, { method, ...init });
  const text = await response.text();
  const type = response.headers.get('content-type');
  return { status: response.status, type, json: type?.includes('json') && text ? JSON.parse(text) : text };
}

function api(method: string, path: string, key: string, body?: unknown) {
  return call(app.base, method, `/api/v1${path}`, {
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
}

/** What SMS.to POSTs to the callback_url: form-encoded fields. */
function postForm(fields: Record<string, string>, secret = SECRET) {
  return call(app.base, 'POST', `/webhooks/smsto/${secret}`, {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

function postJson(body: unknown, secret = SECRET) {
  return call(app.base, 'POST', `/webhooks/smsto/${secret}`, {
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** A report as SMS.to sends it. */
function smstoReport(messageId: string, status: string): Record<string, string> {
  return {
    trackingId: '185c9d63-dae2-4614-b0f4-48453e870dcf',
    messageId,
    phone: RECIPIENT,
    status,
    parts: '1',
    price: '0.015',
  };
}

/**
 * A team whose user sends one SMS through the API, handed to (fake) SMS.to by the dispatch job.
 * Returns our message id and the id SMS.to knows it by, as it would post it back.
 */
async function sentMessage(text = 'Your code is 4711') {
  const team = await seedTeam(h.services);
  await h.services.messaging.setPrice(operator, { teamId: team.team.id, prefix: 'default', price: '0.05' });
  await fund(h.services, team.owner.actor, team.user.id, '1');
  const sent = await api('POST', '/sms', team.user.apiKey, { to: RECIPIENT, message: text });
  expect(sent.status).toBe(202);
  await runMessagingJobs(h.orm, h.services.messaging, 'message.dispatch');
  const id: string = sent.json.id;
  const row = await queryOne<{ provider_message_id: string }>(
    h.orm.em.fork(),
    'select provider_message_id from messages where id = ?',
    [id],
  );
  const status = async (): Promise<string> =>
    (await api('GET', `/messages/${id}`, team.user.apiKey)).json.status;
  const balance = async (): Promise<string> =>
    (await api('GET', `/members/${team.user.id}`, team.owner.apiKey)).json.balance;
  const stats = async () => (await api('GET', '/stats?period=7d', team.user.apiKey)).json.members[0];
  expect(await status()).toBe('sent');
  return { team, id, smstoId: row!.provider_message_id, status, balance, stats };
}

describe('POST /webhooks/smsto/:secret', () => {
  it('a DELIVERED report marks the message delivered, and the statistics count it', async () => {
    const m = await sentMessage();
    expect((await m.stats()).pending).toBe(1);

    // A report that the message is on its way changes nothing.
    const sent = await postForm(smstoReport(m.smstoId, 'SENT'));
    expect(sent).toMatchObject({ status: 200, json: { received: true, changed: false } });
    expect(await m.status()).toBe('sent');

    const delivered = await postForm(smstoReport(m.smstoId, 'DELIVERED'));
    expect(delivered.status).toBe(200);
    expect(delivered.type).toMatch(/application\/json/);
    expect(delivered.json).toEqual({ received: true, changed: true });
    expect(await m.status()).toBe('delivered');
    expect(await m.stats()).toMatchObject({ messages: 1, delivered: 1, failed: 0, pending: 0, cost: '0.05' });
    expect(await m.balance()).toBe('0.95');

    // SMS.to retries and repeats: a late or repeated report is answered and changes nothing.
    expect((await postForm(smstoReport(m.smstoId, 'DELIVERED'))).json).toEqual({
      received: true,
      changed: false,
    });
    expect((await postForm(smstoReport(m.smstoId, 'FAILED'))).json).toEqual({
      received: true,
      changed: false,
    });
    expect(await m.status()).toBe('delivered');
    expect(await m.balance()).toBe('0.95');
    await expectStatsEqualLog(h.orm, m.team.team.id);
  });

  it('a failure refunds the message once, even when SMS.to posts it twice (at once, and again later)', async () => {
    const m = await sentMessage();
    expect(await m.balance()).toBe('0.95');

    const [first, second] = await Promise.all([
      postJson(smstoReport(m.smstoId, 'UNDELIVERED')),
      postJson(smstoReport(m.smstoId, 'UNDELIVERED')),
    ]);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect([first.json.changed, second.json.changed].sort()).toEqual([false, true]);
    const again = await postForm(smstoReport(m.smstoId, 'UNDELIVERED'));
    expect(again.json).toEqual({ received: true, changed: false });

    expect(await m.status()).toBe('failed');
    expect(await m.balance()).toBe('1.00');
    expect(await m.stats()).toMatchObject({
      messages: 1,
      failed: 1,
      delivered: 0,
      pending: 0,
      charged: '0.05',
      refunded: '0.05',
      cost: '0.00',
    });
    const message = (await api('GET', `/messages/${m.id}`, m.team.user.apiKey)).json;
    expect(message.error).toBe('SMS.to reported UNDELIVERED');
    await expectStatsEqualLog(h.orm, m.team.team.id);
  });

  it('each of SMS.to final failure statuses fails the message', async () => {
    for (const status of ['REJECTED', 'EXPIRED', 'FAILED', 'undelivered']) {
      const m = await sentMessage();
      expect((await postForm(smstoReport(m.smstoId, status))).json).toEqual({
        received: true,
        changed: true,
      });
      expect(await m.status()).toBe('failed');
      expect(await m.balance()).toBe('1.00');
    }
  });

  it('a wrong secret is a 404 and changes nothing', async () => {
    const m = await sentMessage();
    for (const secret of ['whsec_0123456789abcdefghijklmnoX', 'short', SECRET.toUpperCase()]) {
      const r = await postForm(smstoReport(m.smstoId, 'DELIVERED'), secret);
      expect(r.status).toBe(404);
      expect(r.json).toEqual({ error: { code: 'not_found', message: 'Not found' } });
    }
    const bare = await call(app.base, 'POST', '/webhooks/smsto', {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(smstoReport(m.smstoId, 'DELIVERED')),
    });
    expect(bare.status).toBe(404);
    expect(bare.json.error.code).toBe('not_found');
    expect(await m.status()).toBe('sent');
  });

  it('an unknown message id is a 404 with a JSON error', async () => {
    for (const status of ['DELIVERED', 'SENT']) {
      const r = await postForm(smstoReport('4f1c2e9a-0000-4000-8000-000000000000', status));
      expect(r.status).toBe(404);
      expect(r.json).toEqual({
        error: {
          code: 'not_found',
          message: expect.stringContaining('4f1c2e9a-0000-4000-8000-000000000000'),
        },
      });
    }
  });

  it('a malformed body is a 400 naming the field', async () => {
    const m = await sentMessage();
    const cases: [() => ReturnType<typeof postForm>, string | undefined][] = [
      [() => postForm({ status: 'DELIVERED', phone: RECIPIENT }), 'messageId'],
      [() => postForm({ messageId: '', status: 'DELIVERED' }), 'messageId'],
      [() => postJson({ messageId: 42, status: 'DELIVERED' }), 'messageId'],
      [() => postJson({ messageId: 'x'.repeat(101), status: 'DELIVERED' }), 'messageId'],
      [() => postForm({ messageId: m.smstoId }), 'status'],
      [() => postJson({ messageId: m.smstoId, status: ['DELIVERED'] }), 'status'],
      [() => postJson('{"messageId": '), undefined],
      [
        () =>
          call(app.base, 'POST', `/webhooks/smsto/${SECRET}`, {
            headers: { 'content-type': 'text/plain' },
            body: 'DELIVERED',
          }),
        'messageId',
      ],
    ];
    for (const [post, field] of cases) {
      const r = await post();
      expect(r.status, JSON.stringify(r.json)).toBe(400);
      expect(r.json.error.code).toBe('bad_request');
      if (field) {
        expect(r.json.error.field).toBe(field);
        expect(r.json.error.message).toContain(field);
      }
    }
    expect(await m.status()).toBe('sent');
  });
});

describe('callback_url', () => {
  it('is sent to SMS.to with every message when SMSTO_WEBHOOK_SECRET is set', async () => {
    const text = 'callback please';
    await sentMessage(text);
    const send = fake.requests.find((r) => r.path === '/sms/send' && r.body?.message === text);
    expect(send?.body).toEqual({
      to: RECIPIENT,
      message: text,
      callback_url: `${PUBLIC_URL}/webhooks/smsto/${SECRET}`,
    });
  });

  it('without the secret: no callback_url, and no webhook route', async () => {
    const config = smstoConfig();
    expect(config.sms.smstoWebhook).toBeUndefined();
    const logger = createLogger('silent');
    const messaging = new MessagingService(h.orm, messagingSettings(config.sms, logger), logger);
    const team = await seedTeam(h.services);
    await fund(h.services, team.owner.actor, team.user.id, '1');
    const text = 'no callback';
    await messaging.send(team.user.actor, { to: RECIPIENT, message: text });
    await runMessagingJobs(h.orm, messaging, 'message.dispatch');
    const send = fake.requests.find((r) => r.path === '/sms/send' && r.body?.message === text);
    expect(send?.body).toEqual({ to: RECIPIENT, message: text });

    const plain = await startApp(h.orm, h.services, config);
    try {
      const r = await call(plain.base, 'POST', `/webhooks/smsto/${SECRET}`, {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(smstoReport('whatever', 'DELIVERED')),
      });
      expect(r.status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});

describe('SMSTO_WEBHOOK_SECRET', () => {
  it('builds the callback URL from PUBLIC_URL, and refuses a short or URL-unsafe secret', () => {
    expect(
      loadConfig({ SMSTO_WEBHOOK_SECRET: SECRET, PUBLIC_URL: 'https://x.example/' }).sms.smstoWebhook,
    ).toEqual({
      secret: SECRET,
      url: `https://x.example/webhooks/smsto/${SECRET}`,
    });
    expect(() => loadConfig({ SMSTO_WEBHOOK_SECRET: 'short' })).toThrow(
      /^SMSTO_WEBHOOK_SECRET must be 24 to 128/,
    );
    expect(() => loadConfig({ SMSTO_WEBHOOK_SECRET: `${'a'.repeat(30)}/..` })).toThrow(
      /^SMSTO_WEBHOOK_SECRET /,
    );
  });
});

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import type { Services } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import * as membersRoutes from '../../src/http/api/members.routes.ts';
import * as messagingRoutes from '../../src/http/api/messaging.routes.ts';
import { mountOpenApiDocument } from '../../src/http/api/openapi.ts';
import * as statsRoutes from '../../src/http/api/stats.routes.ts';
import * as teamAdminRoutes from '../../src/http/api/team-admin.routes.ts';
import { mountSmsTo } from '../../src/http/compat/smsto.ts';
import { mountTextmagic } from '../../src/http/compat/textmagic.ts';
import { mountVonage } from '../../src/http/compat/vonage.ts';
import { createHttpApp, type HttpDeps } from '../../src/http/server.ts';
import { createLogger } from '../../src/logger.ts';
import type { Queues } from '../../src/platform/queue.ts';
import { operator } from '../../src/shared/actor.ts';
import type { ServiceHarness, seedTeam } from '../helpers/services.ts';

export interface HttpResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions
  json: any;
}

export interface HttpClient {
  /** The instance's base URL, for clients that take a host (the providers' SDKs). */
  url(): string;
  request(
    method: string,
    path: string,
    options?: { headers?: Record<string, string>; json?: unknown; form?: Record<string, string> },
  ): Promise<HttpResponse>;
}

/**
 * The product's HTTP app as the runtime composes it (native API, OpenAPI document, Textmagic and
 * SMS.to mounts) on a real port for this file's lifetime. Readiness is not exercised, so no queues.
 */
export function useHttp(harness: ServiceHarness): HttpClient {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    const deps: HttpDeps = {
      config: loadConfig({}),
      logger: createLogger('silent'),
      orm: harness.orm,
      services: harness.services,
      queues: {} as Queues,
    };
    const app = createHttpApp(deps, {
      apiRoutes: [membersRoutes, teamAdminRoutes, messagingRoutes, statsRoutes],
      mounts: [
        (express) => mountOpenApiDocument(express),
        (express) => mountTextmagic(express, deps),
        (express) => mountSmsTo(express, deps),
        (express) => mountVonage(express, deps),
      ],
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));
  return {
    url: () => base,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      let body: string | undefined;
      if (options.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = typeof options.json === 'string' ? options.json : JSON.stringify(options.json);
      } else if (options.form) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        body = new URLSearchParams(options.form).toString();
      }
      const response = await fetch(`${base}${path}`, { method, headers, body });
      const text = await response.text();
      return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : null };
    },
  };
}

export function basic(username: string, key: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${username}:${key}`).toString('base64')}` };
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

export type SeededTeam = Awaited<ReturnType<typeof seedTeam>>;

/**
 * What a caller can observe of a team after a call: balances, members, invitations, audit trail
 * and ledger, leaving out ids and the per-team parts of emails, so two teams can be compared.
 */
export async function observableEffects(services: Services, t: SeededTeam) {
  const team = await services.teams.get(operator, t.team.id);
  const members = await services.members.list(t.owner.actor, { limit: 100 });
  const invitations = await services.invitations.list(t.owner.actor, { status: 'all' });
  const audit = await services.audit.list(t.owner.actor, { limit: 20 });
  const transfers = await services.ledger.history(t.owner.actor, { limit: 20 });
  return {
    master: team.masterBalance,
    members: members.items.map((m) => [m.role, m.status, m.balance, m.email?.replace(/-\d+-\d+@/, '@')]),
    invitations: invitations.map((i) => [i.email, i.role, i.status]),
    audit: audit.map((e) => [e.action, e.via, e.actorMemberId === t.owner.id]),
    transfers: transfers.map((x) => [x.kind, x.amount, x.via, x.reason]),
  };
}

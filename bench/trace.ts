/**
 * bench:trace — where ONE caller's request goes: every statement the product sends to
 * PostgreSQL for one credit, one SMS charge and one HTTP request of each kind (counted and timed
 * at the pg client the ORM uses), the wall time and the Node CPU per request. Sequential, one
 * request at a time, after a warm-up; `BENCH_TRACE_REQUESTS` requests per path (default 300).
 * Not a target of its own: it shows what to remove (docs/benchmarks.md, "One caller").
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type pg from 'pg';
import { type AppDeps, createServices } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import * as membersRoutes from '../src/http/api/members.routes.ts';
import * as messagingRoutes from '../src/http/api/messaging.routes.ts';
import { createApiRouter } from '../src/http/api/router.ts';
import { createLogger } from '../src/logger.ts';
import { memberActor, operator } from '../src/shared/actor.ts';
import { createBenchDatabase, migratedOrm } from './lib.ts';

const REQUESTS = Number(process.env.BENCH_TRACE_REQUESTS ?? 300);

interface Statement {
  label: string;
  ms: number;
}
let recording: Statement[] | null = null;

/** A statement's label: its first words, with literals and parameters blanked out. */
function labelOf(sql: string): string {
  return sql
    .replace(/\s+/g, ' ')
    .replace(/'[^']*'/g, "'…'")
    .trim()
    .slice(0, 70);
}

const db = await createBenchDatabase('trace');
const orm = await migratedOrm(db, 8);
const nativePool = (await orm.em.getConnection().getNativeClient()) as pg.Pool;
// Every statement of the ORM's pool (the product's only connections) passes here.
const ClientClass = (nativePool as unknown as { Client: typeof pg.Client }).Client;
const originalQuery = ClientClass.prototype.query as (...args: unknown[]) => unknown;
ClientClass.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const first = args[0] as string | { text?: string; name?: string };
  const text =
    typeof first === 'string' ? first : first?.name ? `prepared ${first.name}` : (first?.text ?? '?');
  const sink = recording;
  const started = performance.now();
  const done = (failed: boolean) =>
    sink?.push({ label: `${failed ? '(failed) ' : ''}${labelOf(text)}`, ms: performance.now() - started });
  // pg-pool passes a callback (the prepared statements go that way); the ORM awaits a promise.
  const callback = args.at(-1);
  if (typeof callback === 'function') {
    args[args.length - 1] = (error: unknown, ...rest: unknown[]) => {
      done(Boolean(error));
      return (callback as (...a: unknown[]) => unknown)(error, ...rest);
    };
  }
  const result = originalQuery.apply(this, args);
  if (typeof callback !== 'function' && result && typeof (result as Promise<unknown>).then === 'function') {
    (result as Promise<unknown>).then(
      () => done(false),
      () => done(true),
    );
  }
  return result;
} as typeof ClientClass.prototype.query;

let server: http.Server | undefined;
try {
  const config = loadConfig({ LOG_LEVEL: 'silent' });
  const services = createServices(orm, { sms: config.sms });
  const { team, owner, ownerKey } = await setup();
  const sender = await services.members.create(memberActor(owner.id, 'api'), { name: 'Sender' });
  await services.ledger.credit(memberActor(owner.id, 'api'), {
    member: { id: sender.member.id },
    amount: '100000',
  });
  await services.messaging.setPrice(operator, { teamId: team.id, prefix: 'default', price: '0.01' });
  const ownerActor = memberActor(owner.id, 'api');
  const senderActor = memberActor(sender.member.id, 'api');

  const app = express();
  const deps: AppDeps = { config, logger: createLogger('silent'), orm, services };
  const noop = {
    register: (router: express.Router) => router.post('/noop', (_req, res) => res.status(202).json({})),
  };
  app.use('/api/v1', createApiRouter(deps, [messagingRoutes, membersRoutes, noop]));
  server = await new Promise<http.Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const post = (path: string, key: string, body: unknown) =>
    new Promise<void>((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port,
          path: `/api/v1${path}`,
          method: 'POST',
          agent,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        },
        (response) => {
          response.resume();
          response.on('end', () =>
            response.statusCode! < 300 ? resolve() : reject(new Error(`${path}: ${response.statusCode}`)),
          );
        },
      );
      request.on('error', reject);
      request.end(JSON.stringify(body));
    });

  const paths: Array<[string, () => Promise<unknown>]> = [
    [
      'service credit',
      () => services.ledger.credit(ownerActor, { member: { id: sender.member.id }, amount: '0.01' }),
    ],
    ['service send', () => services.messaging.send(senderActor, { to: '+4917012345678', message: 'trace' })],
    ['HTTP no-op', () => post('/noop', ownerKey, {})],
    ['HTTP credit', () => post(`/members/${sender.member.id}/credit`, ownerKey, { amount: '0.01' })],
    ['HTTP sms', () => post('/sms', sender.apiKey, { to: '+4917012345678', message: 'trace' })],
  ];
  for (const [name, run] of paths) {
    for (let i = 0; i < 50; i++) await run();
    const statements: Statement[] = [];
    recording = statements;
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < REQUESTS; i++) await run();
    const wallMs = (performance.now() - started) / REQUESTS;
    const used = process.cpuUsage(cpu);
    recording = null;
    const byLabel = new Map<string, { count: number; ms: number }>();
    for (const s of statements) {
      const entry = byLabel.get(s.label) ?? { count: 0, ms: 0 };
      entry.count += 1;
      entry.ms += s.ms;
      byLabel.set(s.label, entry);
    }
    const dbMs = statements.reduce((sum, s) => sum + s.ms, 0) / REQUESTS;
    console.log(
      `\n${name}: ${wallMs.toFixed(2)} ms per request, ${(statements.length / REQUESTS).toFixed(1)} statements ` +
        `(${dbMs.toFixed(2)} ms waiting on them), Node CPU ${((used.user + used.system) / 1000 / REQUESTS).toFixed(2)} ms`,
    );
    for (const [label, { count, ms }] of byLabel) {
      console.log(
        `  ${(count / REQUESTS).toFixed(1).padStart(4)} × ${(ms / count).toFixed(2).padStart(5)} ms  ${label}`,
      );
    }
  }
  agent.destroy();

  async function setup() {
    const created = await services.teams.setup({ name: 'Trace', owner: { name: 'Owner' }, via: 'cli' });
    await services.ledger.topUp(operator, { teamId: created.team.id, amount: '10000000' });
    return { team: created.team, owner: created.owner, ownerKey: created.apiKey };
  }
} finally {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  await orm.close(true);
  await db.drop();
}

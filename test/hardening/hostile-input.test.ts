import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { HTTP_METHODS, openApiDocument } from '../../src/http/api/openapi.ts';
import { databaseState } from '../helpers/database-state.ts';
import { call, type RuntimeHarness, seedRuntimeTeam, useRuntime } from './runtime-harness.ts';

/**
 * Generated hostile input against every route of /api/v1, /api/v2/subaccounts, /v1/team,
 * /accounts/{api_key} (Vonage) and the Slack endpoint of the real runtime: never a 5xx, and a refused request changes nothing.
 * A fixed seed and a bounded number of runs in `npm test`; HOSTILE_RUNS=2000 (and HOSTILE_SEED)
 * for a longer search.
 */
const RUNS = Number(process.env.HOSTILE_RUNS ?? 60);
const SEED = Number(process.env.HOSTILE_SEED ?? 20_261_202);

// No workers: nothing may change the database between a request and the check after it.
// Limits out of the way: a long run sends thousands of requests from one key and one Slack user.
const h: RuntimeHarness = useRuntime({
  workers: false,
  env: { RATE_LIMIT_API: '1000000', RATE_LIMIT_SLACK: '1000000' },
});
let seeded: Awaited<ReturnType<typeof seedRuntimeTeam>>;
/** Uma's key id, for the Vonage routes: reached when the path parameter is UMA_KEY. */
let umaKeyId = '';
const UMA_KEY = 'uma-key-id';

beforeAll(async () => {
  seeded = await seedRuntimeTeam(h, 'T0HOSTILE');
  const { operator } = await import('../../src/shared/actor.ts');
  await seeded.services.ledger.topUp(operator, { teamId: seeded.team.id, amount: '1000' });
  const uma = await seeded.services.members.create(
    { kind: 'member', memberId: seeded.owner.id, via: 'api' } as never,
    { name: 'Uma User', email: 'uma@hostile.example' },
  );
  umaKeyId = uma.member.keyId;
});

type Api = 'native' | 'textmagic' | 'smsto' | 'vonage';
interface Route {
  api: Api;
  method: string;
  path: string;
}

const nativeRoutes: Route[] = Object.entries(openApiDocument.paths).flatMap(([path, item]) =>
  HTTP_METHODS.filter((m) => item[m]).map((m) => ({ api: 'native' as const, method: m.toUpperCase(), path })),
);
const compatRoutes: Route[] = [
  ...['GET /', 'GET /{id}', 'POST /', 'DELETE /{id}'].map((r) => ({ api: 'textmagic' as const, r })),
  ...[
    'GET /users',
    'GET /invitations',
    'POST /user/create',
    'POST /user/invite',
    'GET /user/{id}/enable',
    'GET /user/{id}/disable',
    'GET /user/{id}/credit',
    'GET /user/{id}/debit',
    'DELETE /user/{id}/delete',
    'DELETE /invitation/{id}/delete',
  ].map((r) => ({ api: 'smsto' as const, r })),
  ...[
    'GET /subaccounts',
    'POST /subaccounts',
    'GET /subaccounts/{id}',
    'PATCH /subaccounts/{id}',
    'GET /balance-transfers',
    'POST /balance-transfers',
    'GET /credit-transfers',
    'POST /credit-transfers',
  ].map((r) => ({ api: 'vonage' as const, r })),
].map(({ api, r }) => ({ api, method: r.split(' ')[0]!, path: r.split(' ')[1]! }));
const PREFIX: Record<Api, () => string> = {
  native: () => '/api/v1',
  textmagic: () => '/api/v2/subaccounts',
  smsto: () => '/v1/team',
  vonage: () => `/accounts/${seeded.owner.keyId}`,
};

/** Values that broke something once, or break databases and parsers in general. */
const nasty = fc.constantFrom(
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\u202Eevil',
  '\u200B',
  '\u001b[31m',
  '\uFFFE',
  '9999999999999999999',
  '-9223372036854775809',
  '2147483648',
  '0',
  '-1',
  '1e309',
  '0.0000001',
  '999999999999999999999999.99',
  '9999-12-31',
  '+275760-09-13T00:00:00Z',
  '-271821-04-20',
  '0000-00-00',
  '%',
  '%00',
  '../..',
  "'; drop table members; --",
  '<@U0NOBODY>',
  'owner@t0hostile.example',
  '',
  ' ',
  'x'.repeat(5000),
);
const hostileString = fc.oneof(
  nasty,
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ maxLength: 12 }),
);
const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  fc.constantFrom(0, -1, 1.5, 2 ** 53, 1e308, Number.MAX_SAFE_INTEGER, true, null),
  fc.array(hostileString, { maxLength: 3 }),
  fc.dictionary(hostileString, hostileString, { maxKeys: 2 }),
);
const FIELDS = [
  'name',
  'email',
  'amount',
  'reason',
  'role',
  'to',
  'message',
  'sender_id',
  'threshold',
  'member',
  'status',
  'contains',
  'before',
  'from',
  'until',
  'cursor',
  'limit',
  'page',
  'period',
  'id',
  'firstName',
  'lastName',
  'prefix',
  'price',
  'enabled',
  'level',
  'channel',
  'time',
  'auto_generate_credentials',
  'username',
  'shares_master_balance',
  'secret',
  'use_primary_account_balance',
  'suspended',
  'start_date',
  'end_date',
  'subaccount',
  'reference',
];
const fields = fc.dictionary(fc.constantFrom(...FIELDS), hostileValue, { maxKeys: 4 });
/** Path parameters: real ids mostly stay out of reach; hostile text reaches the parsers. */
const pathParam = fc.oneof(hostileString, fc.constantFrom('1', '2', '3', 'uma@hostile.example', UMA_KEY));
/** Headers carry Latin-1 only; hostile within that. */
const idempotencyKey = fc.option(
  fc.oneof(
    fc.constantFrom('k', ' ', 'x'.repeat(300), 'ÿ'),
    fc.string({ maxLength: 20 }).filter((s) => /^[\x20-\x7e]*$/.test(s)),
  ),
  { nil: undefined },
);

function fill(path: string, value: string): string {
  // A URL carries UTF-8, which has no lone surrogates: they arrive as U+FFFD, as from a browser.
  const param = value === UMA_KEY ? umaKeyId : value;
  return path.replace(/\{[^}]+\}/g, () => encodeURIComponent(param.toWellFormed()));
}

function query(values: Record<string, unknown>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values))
    params.append(key, typeof value === 'string' ? value : JSON.stringify(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

describe('hostile input on every route', () => {
  it('never answers 5xx, and a refused request changes nothing', async () => {
    const orm = h.runtimes[0]!.deps.orm;
    const auth: Record<Api, Record<string, string>> = {
      native: { authorization: `Bearer ${seeded.apiKey}` },
      smsto: { authorization: `Bearer ${seeded.apiKey}` },
      textmagic: {
        authorization: `Basic ${Buffer.from(`${seeded.owner.email}:${seeded.apiKey}`).toString('base64')}`,
      },
      vonage: {
        authorization: `Basic ${Buffer.from(`${seeded.owner.keyId}:${seeded.apiKey}`).toString('base64')}`,
      },
    };
    const outcomes = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...nativeRoutes, ...compatRoutes),
        pathParam,
        fields,
        fields,
        idempotencyKey,
        async (route, param, queryValues, body, key) => {
          const before = await databaseState(orm);
          const url = `${PREFIX[route.api]()}${fill(route.path, param)}${query(queryValues)}`;
          const res = await call(h.base, route.method, url, {
            headers: { ...auth[route.api], ...(key === undefined ? {} : { 'idempotency-key': key }) },
            ...(route.method === 'GET' || route.method === 'DELETE' ? {} : { json: body }),
          });
          outcomes.set(res.status, (outcomes.get(res.status) ?? 0) + 1);
          expect(res.status, `${route.method} ${url} ${JSON.stringify(body)}: ${res.text}`).toBeLessThan(500);
          if (res.status >= 400) expect(await databaseState(orm), `${route.method} ${url}`).toEqual(before);
        },
      ),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // The runs reached both sides: some requests were refused and some went through.
    expect([...outcomes.keys()].some((s) => s >= 400)).toBe(true);
  }, 300_000);

  it('Slack commands with hostile text are acknowledged, and never answered with an internal error', async () => {
    const slack = h.slackRequests(h.base, 'T0HOSTILE');
    const words = fc.array(
      fc.oneof(
        hostileString,
        fc.constantFrom(
          'create',
          'credit',
          'logs',
          'stats',
          'invite',
          'show',
          'role',
          'revoke',
          'alerts',
          'digest',
        ),
      ),
      { minLength: 1, maxLength: 4 },
    );
    const responseIds: string[] = [];
    await fc.assert(
      fc.asyncProperty(words, async (parts) => {
        const res = await slack.command(seeded.owner.slackUserId!, parts.join(' '));
        responseIds.push(res.responseId);
        expect(res.status, parts.join(' ')).toBe(200);
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true },
    );
    // Work after the ack answers through response_url; none of it may be "our fault".
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const replies = responseIds.flatMap((id) => h.slack.responses(id).map((r) => JSON.stringify(r.args)));
    expect(replies.length).toBeGreaterThan(0);
    expect(replies.filter((r) => r.includes('went wrong on our side'))).toEqual([]);
  }, 300_000);
});

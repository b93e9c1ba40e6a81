import { beforeAll, describe, expect, it } from 'vitest';
import { operator } from '../../src/shared/actor.ts';
import { basic, bearer, type SeededTeam, useHttp } from '../compat/helpers.ts';
import { teamState } from '../helpers/database-state.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

/**
 * The authorization matrix of the compatible APIs: each endpoint as the owner, an admin, a user
 * and an outsider (another team's owner), with the status that provider answers. A refused call
 * leaves team A exactly as it was.
 */
const h = useServices();
const http = useHttp(h);

type Role = 'owner' | 'admin' | 'user' | 'outsider';
type Caller = SeededTeam['owner'] | SeededTeam['admin'];
interface Row {
  name: string;
  /** Changes nothing even when allowed, so it may run on the shared team. */
  readOnly?: boolean;
  /** Prepares a fresh team A before the call (operator settings, not part of what is checked). */
  setup?: (a: SeededTeam) => Promise<void>;
  request: (
    a: SeededTeam,
    caller: Caller,
  ) => { method: string; path: string; json?: unknown; headers: Record<string, string> };
  expected: Record<Role, number>;
}

const tm = (caller: Caller) => basic(caller.username, caller.apiKey);
const vonage = (caller: Caller) => basic(caller.keyId, caller.apiKey);
const sms = (caller: Caller) => bearer(caller.apiKey);

const ROWS: Row[] = [
  {
    name: 'Textmagic GET /api/v2/subaccounts/{id}',
    readOnly: true,
    request: (a, c) => ({ method: 'GET', path: `/api/v2/subaccounts/${a.user.id}`, headers: tm(c) }),
    expected: { owner: 200, admin: 200, user: 401, outsider: 404 },
  },
  {
    name: 'Textmagic POST /api/v2/subaccounts',
    request: (_a, c) => ({
      method: 'POST',
      path: '/api/v2/subaccounts',
      json: { email: `m-${c.id}@acme.test`, role: 'U' },
      headers: tm(c),
    }),
    expected: { owner: 204, admin: 204, user: 401, outsider: 204 },
  },
  {
    name: 'Textmagic DELETE /api/v2/subaccounts/{id}',
    request: (a, c) => ({ method: 'DELETE', path: `/api/v2/subaccounts/${a.user.id}`, headers: tm(c) }),
    expected: { owner: 204, admin: 204, user: 401, outsider: 404 },
  },
  {
    name: 'SMS.to GET /v1/team/user/{id}/credit',
    request: (a, c) => ({
      method: 'GET',
      path: `/v1/team/user/${a.user.id}/credit?amount=1`,
      headers: sms(c),
    }),
    expected: { owner: 200, admin: 200, user: 403, outsider: 404 },
  },
  {
    name: 'SMS.to GET /v1/team/user/{id}/disable',
    request: (a, c) => ({ method: 'GET', path: `/v1/team/user/${a.user.id}/disable`, headers: sms(c) }),
    expected: { owner: 200, admin: 200, user: 403, outsider: 404 },
  },
  {
    name: 'SMS.to DELETE /v1/team/user/{id}/delete',
    request: (a, c) => ({ method: 'DELETE', path: `/v1/team/user/${a.user.id}/delete`, headers: sms(c) }),
    expected: { owner: 200, admin: 200, user: 403, outsider: 404 },
  },
  {
    name: 'Vonage GET /accounts/{api_key}/subaccounts',
    readOnly: true,
    request: (a, c) => ({
      method: 'GET',
      path: `/accounts/${a.owner.keyId}/subaccounts`,
      headers: vonage(c),
    }),
    expected: { owner: 200, admin: 200, user: 403, outsider: 404 },
  },
  {
    name: 'Vonage POST /accounts/{api_key}/subaccounts',
    request: (a, c) => ({
      method: 'POST',
      path: `/accounts/${a.owner.keyId}/subaccounts`,
      json: { name: 'New' },
      headers: vonage(c),
    }),
    expected: { owner: 200, admin: 200, user: 403, outsider: 404 },
  },
  {
    name: 'Vonage PATCH /accounts/{api_key}/subaccounts/{key}',
    request: (a, c) => ({
      method: 'PATCH',
      path: `/accounts/${a.owner.keyId}/subaccounts/${a.user.keyId}`,
      json: { suspended: true },
      headers: vonage(c),
    }),
    expected: { owner: 200, admin: 200, user: 403, outsider: 404 },
  },
  {
    name: 'Vonage POST /accounts/{api_key}/balance-transfers',
    request: (a, c) => ({
      method: 'POST',
      path: `/accounts/${a.owner.keyId}/balance-transfers`,
      json: { from: a.owner.keyId, to: a.user.keyId, amount: 1 },
      headers: vonage(c),
    }),
    expected: { owner: 200, admin: 200, user: 403, outsider: 404 },
  },
  {
    name: 'Vonage GET /accounts/{api_key}/balance-transfers',
    readOnly: true,
    request: (a, c) => ({
      method: 'GET',
      path: `/accounts/${a.owner.keyId}/balance-transfers?start_date=2020-01-01T00:00:00Z`,
      headers: vonage(c),
    }),
    expected: { owner: 200, admin: 200, user: 403, outsider: 404 },
  },
  {
    name: 'Vonage POST /accounts/{api_key}/credit-transfers',
    setup: async (a) => {
      await h.services.ledger.setCreditLimit(operator, { teamId: a.team.id, creditLimit: '10' });
    },
    request: (a, c) => ({
      method: 'POST',
      path: `/accounts/${a.owner.keyId}/credit-transfers`,
      json: { from: a.owner.keyId, to: a.user.keyId, amount: '1' },
      headers: vonage(c),
    }),
    expected: { owner: 200, admin: 200, user: 403, outsider: 404 },
  },
  {
    name: 'Vonage GET /accounts/{api_key}/credit-transfers',
    readOnly: true,
    request: (a, c) => ({
      method: 'GET',
      path: `/accounts/${a.owner.keyId}/credit-transfers?start_date=2020-01-01T00:00:00Z`,
      headers: vonage(c),
    }),
    expected: { owner: 200, admin: 200, user: 403, outsider: 404 },
  },
];

const CASES = ROWS.flatMap((row) =>
  (['owner', 'admin', 'user', 'outsider'] as const).map((role) => ({
    ...row,
    role,
    status: row.expected[role],
  })),
);

let shared: SeededTeam;
let outsider: Caller;
beforeAll(async () => {
  shared = await seedTeam(h.services);
  outsider = (await seedTeam(h.services)).owner;
});

describe('compatible APIs: authorization matrix', () => {
  it.each(CASES)('$name as $role: $status', async ({ request, role, status, readOnly, setup }) => {
    const a = readOnly ? shared : await seedTeam(h.services);
    await setup?.(a);
    const caller = role === 'outsider' ? outsider : a[role];
    const before = await teamState(h.orm, a.team.id);
    const { method, path, json, headers } = request(a, caller);
    const res = await http.request(method, path, { headers, json });
    expect(res.status).toBe(status);
    if (status >= 400 || role === 'outsider') expect(await teamState(h.orm, a.team.id)).toEqual(before);
  });
});

import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/index.ts';
import { createHttpApp } from '../../src/http/server.ts';
import { memberActor, operator } from '../../src/shared/actor.ts';
import { ValidationError } from '../../src/shared/errors.ts';
import { call, seedRuntimeTeam, useRuntime } from './runtime-harness.ts';

/** Rules that a copy of the code broke without a test noticing (docs/testing.md), over the real runtime. */
const h = useRuntime({ workers: false });

async function teamWithUsers() {
  const seeded = await seedRuntimeTeam(h);
  const { services, owner } = seeded;
  const ownerActor = memberActor(owner.id, 'api');
  await services.ledger.topUp(operator, { teamId: seeded.team.id, amount: '1000' });
  const uma = await services.members.create(ownerActor, {
    name: 'Uma',
    email: `uma-${owner.id}@example.com`,
  });
  const ulf = await services.members.create(ownerActor, {
    name: 'Ulf',
    email: `ulf-${owner.id}@example.com`,
  });
  return { ...seeded, ownerActor, uma, ulf, bearer: (key: string) => ({ authorization: `Bearer ${key}` }) };
}

async function transferCount(team: { id: number }) {
  const rows = await h.runtimes[0]!.deps.orm.em.fork()
    .getConnection()
    .execute<{ n: string }[]>('select count(*)::text as n from transfers where team_id = ?', [team.id]);
  return Number(rows[0]!.n);
}

describe('Idempotency-Key on every money route', () => {
  const routes = [
    {
      name: 'native credit',
      method: 'POST',
      url: (id: number) => `/api/v1/members/${id}/credit`,
      json: { amount: '5' },
    },
    {
      name: 'native debit',
      method: 'POST',
      url: (id: number) => `/api/v1/members/${id}/debit`,
      json: { amount: '1' },
    },
    { name: 'SMS.to credit', method: 'GET', url: (id: number) => `/v1/team/user/${id}/credit?amount=5` },
    { name: 'SMS.to debit', method: 'GET', url: (id: number) => `/v1/team/user/${id}/debit?amount=1` },
  ];
  for (const route of routes) {
    it(`${route.name}: the same key moves the money once, a new key again`, async () => {
      const t = await teamWithUsers();
      await t.services.ledger.credit(t.ownerActor, { member: { id: t.uma.member.id }, amount: '20' });
      const before = await transferCount(t.team);
      const send = (key: string) =>
        call(h.base, route.method, route.url(t.uma.member.id), {
          headers: { ...t.bearer(t.apiKey), 'idempotency-key': key },
          ...(route.json ? { json: route.json } : {}),
        });
      const tag = route.name.replace(/\W+/g, '-');
      const first = await send(`key-${tag}`);
      expect(first.status).toBeLessThan(300);
      const again = await send(`key-${tag}`);
      expect(again.status).toBe(200);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(await transferCount(t.team)).toBe(before + 1);
      const other = await send(`other-${tag}`);
      expect(other.status).toBeLessThan(300);
      expect(other.headers.get('idempotent-replayed')).toBeNull();
      expect(await transferCount(t.team)).toBe(before + 2);
    });
  }

  it('POST /api/v1/sms: the same key sends once, a new key sends again', async () => {
    const t = await teamWithUsers();
    await t.services.ledger.credit(t.ownerActor, { member: { id: t.uma.member.id }, amount: '5' });
    const send = (key: string) =>
      call(h.base, 'POST', '/api/v1/sms', {
        headers: { ...t.bearer(t.uma.apiKey), 'idempotency-key': key },
        json: { to: '+4915112345678', message: 'once' },
      });
    const first = await send('sms-1');
    const again = await send('sms-1');
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json.id).toBe(first.json.id);
    const other = await send('sms-2');
    expect(other.json.id).not.toBe(first.json.id);
  });

  it('the CLI’s team:topup --reference adds a purchase once, and an amount past the bigint is an operator error', async () => {
    const t = await teamWithUsers();
    const lines: string[] = [];
    const cli = (...args: string[]) =>
      buildProgram({
        print: (line) => lines.push(line),
        withServices: (work) => work(t.services, h.runtimes[0]!.deps.orm),
      }).parseAsync(args, { from: 'user' });
    await cli('team:topup', '--team', String(t.team.id), '--amount', '100', '--reference', 'PO-1');
    await cli('team:topup', '--team', String(t.team.id), '--amount', '100', '--reference', 'PO-1');
    expect(lines[1]).toMatch(/reference PO-1 was already recorded/);
    expect((await t.services.teams.get(t.ownerActor)).masterBalance).toBe(1100_000_000n);

    for (let i = 0; i < 9; i++) {
      await cli(
        'team:topup',
        '--team',
        String(t.team.id),
        '--amount',
        '1000000000000',
        '--reference',
        `big-${i}`,
      );
    }
    const error = await cli('team:topup', '--team', String(t.team.id), '--amount', '1000000000000').catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).message).toMatch(/past the largest/);
    expect((error as ValidationError).message).not.toMatch(/out of range for type bigint/);
  });
});

describe('reads across members and teams over HTTP', () => {
  it('every by-id and list route answers 404 or only the caller’s own data', async () => {
    const t = await teamWithUsers();
    const other = await teamWithUsers();
    await t.services.ledger.credit(t.ownerActor, { member: { id: t.uma.member.id }, amount: '5' });
    await t.services.ledger.credit(t.ownerActor, { member: { id: t.ulf.member.id }, amount: '5' });
    const umaSms = await call(h.base, 'POST', '/api/v1/sms', {
      headers: t.bearer(t.uma.apiKey),
      json: { to: '+4915112345678', message: 'uma only' },
    });
    expect(umaSms.status).toBe(202);
    const umaMessage = umaSms.json.id as string;

    // Ulf (same team, a user) and another team's owner read Uma's message: 404, no data.
    for (const key of [t.ulf.apiKey, other.apiKey]) {
      const res = await call(h.base, 'GET', `/api/v1/messages/${umaMessage}`, { headers: t.bearer(key) });
      expect(res.status).toBe(404);
      expect(res.text).not.toContain('uma only');
      const list = await call(h.base, 'GET', '/api/v1/messages', { headers: t.bearer(key) });
      expect(list.status).toBe(200);
      expect(list.text).not.toContain('uma only');
    }
    // Uma and her owner do see it.
    for (const key of [t.uma.apiKey, t.apiKey]) {
      const res = await call(h.base, 'GET', `/api/v1/messages/${umaMessage}`, { headers: t.bearer(key) });
      expect(res).toMatchObject({ status: 200, json: { id: umaMessage } });
    }

    const foreign = t.uma.member.id;
    const byId: Array<[string, string, Record<string, string>]> = [
      ['GET', `/api/v1/members/${foreign}`, other.bearer(other.apiKey)],
      ['GET', `/api/v1/transfers?member=${foreign}`, other.bearer(other.apiKey)],
      [
        'GET',
        `/api/v2/subaccounts/${foreign}`,
        { authorization: `Basic ${Buffer.from(`${other.owner.email}:${other.apiKey}`).toString('base64')}` },
      ],
      ['GET', `/v1/team/user/${foreign}/enable`, other.bearer(other.apiKey)],
      ['DELETE', `/api/v1/invitations/${foreign}`, other.bearer(other.apiKey)],
    ];
    for (const [method, url, headers] of byId) {
      const res = await call(h.base, method, url, { headers });
      expect({ url, status: res.status }).toEqual({ url, status: 404 });
      expect(res.text).not.toContain('Uma');
    }
    // Lists of the other team hold none of this team's members or transfers.
    for (const url of ['/api/v1/members', '/api/v1/transfers', '/v1/team/users', '/api/v1/audit']) {
      const res = await call(h.base, 'GET', url, { headers: other.bearer(other.apiKey) });
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(t.uma.member.email!);
      expect(res.text).not.toContain(`"member_id":${foreign},`);
    }
    // A user reads only their own transfers.
    const ulfTransfers = await call(h.base, 'GET', '/api/v1/transfers', { headers: t.bearer(t.ulf.apiKey) });
    for (const item of ulfTransfers.json.items) {
      expect([item.from_member_id, item.to_member_id]).toContain(t.ulf.member.id);
    }
  });
});

describe('role requests over HTTP', () => {
  it('an owner denies a request: the role stays, the request is denied once', async () => {
    const t = await teamWithUsers();
    const asked = await call(h.base, 'POST', '/api/v1/role-requests', {
      headers: t.bearer(t.apiKey),
      json: { member: t.uma.member.id, role: 'admin' },
    });
    expect(asked.status).toBe(201);
    const denied = await call(h.base, 'POST', `/api/v1/role-requests/${asked.json.id}/deny`, {
      headers: t.bearer(t.apiKey),
    });
    expect(denied.json).toMatchObject({ status: 'denied', changed: true });
    const twice = await call(h.base, 'POST', `/api/v1/role-requests/${asked.json.id}/deny`, {
      headers: t.bearer(t.apiKey),
    });
    expect(twice.json.changed).toBe(false);
    const member = await call(h.base, 'GET', `/api/v1/members/${t.uma.member.id}`, {
      headers: t.bearer(t.apiKey),
    });
    expect(member.json.role).toBe('user');
    const byUser = await call(h.base, 'POST', `/api/v1/role-requests/${asked.json.id}/deny`, {
      headers: t.bearer(t.uma.apiKey),
    });
    expect(byUser.status).toBe(403);
  });
});

describe('/readyz', () => {
  it('answers 503 naming the part that does not answer', async () => {
    const deps = {
      ...h.runtimes[0]!.deps,
      queues: { ...h.runtimes[0]!.deps.queues, ping: () => Promise.reject(new Error('connection refused')) },
    };
    const app = createHttpApp(deps, { apiRoutes: [], mounts: [] });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as { port: number };
      const res = await call(`http://127.0.0.1:${port}`, 'GET', '/readyz');
      expect(res).toMatchObject({
        status: 503,
        json: { status: 'not ready', database: 'ok', queue: 'unreachable: connection refused' },
      });
    } finally {
      server.close();
    }
  });
});

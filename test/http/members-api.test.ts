import { describe, expect, it } from 'vitest';
import * as membersRoutes from '../../src/http/api/members.routes.ts';
import * as teamAdminRoutes from '../../src/http/api/team-admin.routes.ts';
import { useApi } from '../helpers/api.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

const h = useServices();
const api = useApi(h, [membersRoutes, teamAdminRoutes]);

describe('the native API for sub-accounts', () => {
  it('creates a member whose key is shown once and works at once', async () => {
    const { owner } = await seedTeam(h.services);
    const created = await api.call('POST', '/members', owner.apiKey, {
      name: 'Sales',
      email: 'sales@acme.test',
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: 'Sales',
      email: 'sales@acme.test',
      role: 'user',
      status: 'active',
      balance: '0.00',
    });
    expect(created.json.api_key).toMatch(/^tok_/);

    const shown = await api.call('GET', `/members/${created.json.id}`, owner.apiKey);
    expect(shown.json.api_key).toMatch(/^tok_.{6}•+$/);
    const asMember = await api.call('GET', '/members', created.json.api_key);
    expect(asMember.json.items.map((m: { name: string }) => m.name)).toEqual(['Sales']);
  });

  it('moves money once per Idempotency-Key and answers with both balances', async () => {
    const { owner, user } = await seedTeam(h.services, { masterBalance: '100' });
    const headers = { 'idempotency-key': 'invoice-42' };
    const first = await api.call(
      'POST',
      `/members/${user.id}/credit`,
      owner.apiKey,
      { amount: '12.5', reason: 'Q4' },
      headers,
    );
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({
      amount: '12.50',
      currency: 'EUR',
      master_balance: '87.50',
      replayed: false,
    });
    expect(first.json.member.balance).toBe('12.50');

    const again = await api.call(
      'POST',
      `/members/${user.id}/credit`,
      owner.apiKey,
      { amount: '12.5' },
      headers,
    );
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json.transfer_id).toBe(first.json.transfer_id);

    const debit = await api.call('POST', `/members/${user.email}/debit`, owner.apiKey, { amount: 2.5 });
    expect(debit.json.master_balance).toBe('90.00');
    const history = await api.call('GET', `/transfers?member=${user.id}`, owner.apiKey);
    expect(history.json.items.map((t: { kind: string; amount: string }) => [t.kind, t.amount])).toEqual([
      ['debit', '2.50'],
      ['credit', '12.50'],
    ]);
  });

  it.each([
    ['a malformed amount', 'owner', { amount: 'ten' }, 422, { code: 'validation', field: 'amount' }],
    ['too many decimals', 'owner', { amount: '1.0000001' }, 422, { code: 'validation', field: 'amount' }],
    ['more than the master balance', 'owner', { amount: '1000000' }, 402, { code: 'insufficient_funds' }],
    ['a plain user', 'user', { amount: '1' }, 403, { code: 'forbidden' }],
  ])('refuses %s with a clear error and moves nothing', async (_case, who, body, status, error) => {
    const team = await seedTeam(h.services, { masterBalance: '10' });
    const key = who === 'owner' ? team.owner.apiKey : team.user.apiKey;
    const res = await api.call('POST', `/members/${team.admin.id}/credit`, key, body);
    expect(res.status).toBe(status);
    expect(res.json.error).toMatchObject(error);
    expect(res.json.error.message).toEqual(expect.any(String));
    const master = await api.call('GET', '/team', team.owner.apiKey);
    expect(master.json.master_balance).toBe('10.00');
  });

  it('answers 401 without a valid key and 404 for an unknown member or endpoint', async () => {
    const { owner } = await seedTeam(h.services);
    expect((await api.call('GET', '/members', null)).status).toBe(401);
    expect((await api.call('GET', '/members', 'tok_nope')).json.error.code).toBe('unauthenticated');
    expect((await api.call('GET', '/members/999999', owner.apiKey)).status).toBe(404);
    expect((await api.call('GET', '/nothing-here', owner.apiKey)).status).toBe(404);
    const bad = await api.call('POST', '/members', owner.apiKey, '{not json');
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toBe('The request body is not valid JSON');
  });

  it('disables, closes and rotates, with the old key refused afterwards', async () => {
    const { owner, user } = await seedTeam(h.services, { masterBalance: '10' });
    await api.call('POST', `/members/${user.id}/credit`, owner.apiKey, { amount: '4' });
    expect((await api.call('POST', `/members/${user.id}/disable`, owner.apiKey)).json.status).toBe(
      'inactive',
    );
    expect((await api.call('GET', '/members', user.apiKey)).status).toBe(403);
    expect((await api.call('POST', `/members/${user.id}/enable`, owner.apiKey)).json.status).toBe('active');
    const rotated = await api.call('POST', `/members/${user.id}/key`, user.apiKey);
    expect((await api.call('GET', '/members', user.apiKey)).status).toBe(401);
    expect((await api.call('GET', '/members', rotated.json.api_key)).status).toBe(200);
    const closed = await api.call('DELETE', `/members/${user.id}`, owner.apiKey);
    expect(closed.json).toMatchObject({ status: 'closed', returned_to_master: '4.00' });
    expect((await api.call('GET', '/team', owner.apiKey)).json.master_balance).toBe('10.00');
  });

  it('sets and removes an auto-recharge rule', async () => {
    const { owner, user } = await seedTeam(h.services);
    const set = await api.call('PUT', `/members/${user.id}/auto-recharge`, owner.apiKey, {
      threshold: '5',
      amount: '20',
      daily_cap: '100',
    });
    expect(set.json).toEqual({ member_id: user.id, threshold: '5.00', amount: '20.00', daily_cap: '100.00' });
    const cap = await api.call('PUT', `/members/${user.id}/auto-recharge`, owner.apiKey, {
      threshold: '5',
      amount: '20',
      daily_cap: '10',
    });
    expect(cap.json.error).toMatchObject({ field: 'daily cap' });
    expect((await api.call('DELETE', `/members/${user.id}/auto-recharge`, owner.apiKey)).status).toBe(204);
  });
});

describe('invitations, role requests and the audit trail', () => {
  it('invites, lists and revokes', async () => {
    const { owner } = await seedTeam(h.services);
    const invited = await api.call('POST', '/invitations', owner.apiKey, {
      email: 'new@acme.test',
      role: 'admin',
    });
    expect(invited.status).toBe(201);
    expect(invited.json).toMatchObject({ email: 'new@acme.test', role: 'admin', status: 'pending' });
    const listed = await api.call('GET', '/invitations', owner.apiKey);
    expect(listed.json.items.map((i: { email: string }) => i.email)).toEqual(['new@acme.test']);
    const revoked = await api.call('DELETE', '/invitations/new@acme.test', owner.apiKey);
    expect(revoked.json.status).toBe('revoked');
  });

  it('asks for and approves a role change, once', async () => {
    const { owner, admin, user } = await seedTeam(h.services);
    const asked = await api.call('POST', '/role-requests', admin.apiKey, { member: user.id, role: 'admin' });
    expect(asked.json).toMatchObject({ status: 'pending', from_role: 'user', to_role: 'admin' });
    const approved = await api.call('POST', `/role-requests/${asked.json.id}/approve`, owner.apiKey);
    expect(approved.json).toMatchObject({ status: 'approved', changed: true });
    const twice = await api.call('POST', `/role-requests/${asked.json.id}/approve`, owner.apiKey);
    expect(twice.json.changed).toBe(false);
    const audit = await api.call('GET', '/audit?limit=5', owner.apiKey);
    expect(audit.json.items[0]).toMatchObject({
      action: 'role.approved',
      via: 'api',
      subject_member_id: user.id,
    });
  });
});

describe('HTTP conventions of the native API', () => {
  it('answers a known path with the wrong method 405, listing the methods it has in Allow', async () => {
    const { owner, user } = await seedTeam(h.services);
    const res = await api.call('PUT', `/members/${user.id}`, owner.apiKey, { name: 'x' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('DELETE, GET, HEAD, PATCH');
    expect(res.json.error.code).toBe('method_not_allowed');
    expect((await api.call('PUT', '/members', owner.apiKey, {})).headers.get('allow')).toBe(
      'GET, HEAD, POST',
    );
  });

  it('refuses a body that is not JSON with 415 and changes nothing', async () => {
    const { owner } = await seedTeam(h.services);
    const before = (await api.call('GET', '/members', owner.apiKey)).json.total;
    const res = await api.call('POST', '/members', owner.apiKey, 'name=Form+Member', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(res.status).toBe(415);
    expect(res.json.error).toMatchObject({ code: 'unsupported_media_type' });
    expect(res.json.error.message).toContain('application/json');
    expect((await api.call('GET', '/members', owner.apiKey)).json.total).toBe(before);
  });

  it('names the Bearer scheme on every 401', async () => {
    for (const key of [null, 'tok_nope']) {
      const res = await api.call('GET', '/team', key);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    }
  });

  it('pages every list by cursor, with next_cursor null on the last page', async () => {
    const { owner, user } = await seedTeam(h.services);
    const members1 = await api.call('GET', '/members?limit=2', owner.apiKey);
    expect(members1.json.items).toHaveLength(2);
    const members2 = await api.call(
      'GET',
      `/members?limit=2&cursor=${members1.json.next_cursor}`,
      owner.apiKey,
    );
    expect(members2.json.items).toHaveLength(1);
    expect(members2.json.next_cursor).toBeNull();
    expect(new Set([...members1.json.items, ...members2.json.items].map((m) => m.id)).size).toBe(3);

    for (const amount of ['1', '2', '3', '4']) {
      await api.call('POST', `/members/${user.id}/credit`, owner.apiKey, { amount });
    }
    const first = await api.call('GET', `/transfers?member=${user.id}&limit=2`, owner.apiKey);
    expect(first.json.items.map((t: { amount: string }) => t.amount)).toEqual(['4.00', '3.00']);
    const last = await api.call(
      'GET',
      `/transfers?member=${user.id}&limit=2&cursor=${first.json.next_cursor}`,
      owner.apiKey,
    );
    expect(last.json.items.map((t: { amount: string }) => t.amount)).toEqual(['2.00', '1.00']);
    // A full last page says it is the last, instead of handing out a cursor to an empty page.
    expect(last.json.next_cursor).toBeNull();

    const audit1 = await api.call('GET', '/audit?limit=1', owner.apiKey);
    const audit2 = await api.call('GET', `/audit?limit=1&cursor=${audit1.json.next_cursor}`, owner.apiKey);
    expect(BigInt(audit2.json.items[0].id)).toBeLessThan(BigInt(audit1.json.items[0].id));
    expect((await api.call('GET', '/invitations?status=all', owner.apiKey)).json.next_cursor).toBeNull();
  });

  it('refuses a limit that is not a whole number in range instead of reading it as the default', async () => {
    const { owner } = await seedTeam(h.services);
    for (const query of [
      '/members?limit=0',
      '/members?limit=abc',
      '/transfers?limit=201',
      '/audit?limit=-1',
    ]) {
      const res = await api.call('GET', query, owner.apiKey);
      expect(res.status, query).toBe(422);
      expect(res.json.error).toMatchObject({ code: 'validation', field: 'limit' });
    }
  });
});

import { describe, expect, it } from 'vitest';
import { operator } from '../../src/shared/actor.ts';
import { seedTeam, useServices } from '../helpers/services.ts';
import { bearer, observableEffects, type SeededTeam, useHttp } from './helpers.ts';

const h = useServices();
const http = useHttp(h);

type Team = SeededTeam;

function smsto(method: string, path: string, key: string | null, json?: unknown, headers = {}) {
  return http.request(method, `/v1/team${path}`, {
    headers: { ...(key ? bearer(key) : {}), ...headers },
    json,
  });
}

async function master(t: Team): Promise<bigint> {
  return (await h.services.teams.get(operator, t.team.id)).masterBalance;
}

async function balanceOf(t: Team, id: number): Promise<bigint> {
  return (await h.services.members.show(t.owner.actor, { id })).balance;
}

describe('SMS.to authentication and errors', () => {
  it.each([
    ['no key', null, 401],
    ['an unknown key', 'tok_not-a-key', 401],
  ])('refuses %s with {success:false, message}', async (_case, key, status) => {
    const res = await smsto('GET', '/users', key);
    expect(res.status).toBe(status);
    expect(res.json).toEqual({ success: false, message: expect.any(String) });
  });

  it('refuses a disabled member’s key with 403', async () => {
    const { owner, admin } = await seedTeam(h.services);
    await h.services.members.disable(owner.actor, { id: admin.id });
    const res = await smsto('GET', '/users', admin.apiKey);
    expect(res.status).toBe(403);
    expect(res.json).toEqual({ success: false, message: 'This sub-account is inactive' });
  });

  it('answers an unknown endpoint with 404 in the same shape', async () => {
    const { owner } = await seedTeam(h.services);
    const res = await smsto('GET', '/nothing', owner.apiKey);
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ success: false, message: 'No such endpoint: GET /v1/team/nothing' });
  });
});

describe('GET /v1/team/users', () => {
  it('lists the team page with balances as numbers and masked keys', async () => {
    const { owner, admin, user } = await seedTeam(h.services, { masterBalance: '100' });
    await h.services.ledger.credit(owner.actor, { member: { id: user.id }, amount: '2.5' });
    const res = await smsto('GET', '/users', admin.apiKey);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.json).toMatchObject({
      success: true,
      meta: { current_page: 1, per_page: 100, total: 3, last_page: 1 },
    });
    expect(res.json.data.map((u: { id: number }) => u.id)).toEqual([owner.id, admin.id, user.id]);
    expect(res.json.data[2]).toEqual({
      id: user.id,
      name: 'Uma User',
      email: user.email,
      role: 'user',
      status: 'active',
      balance: 2.5,
      currency: 'EUR',
      api_key: expect.stringMatching(/^tok_.{6}•+$/),
      created_at: expect.any(String),
    });
  });

  it('pages with page and limit, and shows a user only itself', async () => {
    const { owner, user } = await seedTeam(h.services);
    const second = await smsto('GET', '/users?page=2&limit=2', owner.apiKey);
    expect(second.json.meta).toEqual({ current_page: 2, per_page: 2, total: 3, last_page: 2 });
    expect(second.json.data.map((u: { id: number }) => u.id)).toEqual([user.id]);
    const self = await smsto('GET', '/users', user.apiKey);
    expect(self.json.data.map((u: { id: number }) => u.id)).toEqual([user.id]);
    const bad = await smsto('GET', '/users?limit=many', owner.apiKey);
    expect(bad.status).toBe(422);
    expect(bad.json).toEqual({
      success: false,
      message: 'limit must be a whole number',
      errors: { limit: ['limit must be a whole number'] },
    });
  });
});

describe('POST /v1/team/user/create', () => {
  it('creates an auto-generated member and shows its working API key once', async () => {
    const { owner } = await seedTeam(h.services);
    const res = await smsto('POST', '/user/create', owner.apiKey, {
      auto_generate_credentials: true,
      terms_conditions: true,
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      success: true,
      data: { role: 'user', status: 'active', balance: 0, email: null },
    });
    expect(res.json.data.name).toMatch(/^Sub-account [0-9a-f]{6}$/);
    expect(res.json.data.api_key).toMatch(/^tok_[A-Za-z0-9_-]{32}$/);

    const asNewMember = await smsto('GET', '/users', res.json.data.api_key);
    expect(asNewMember.json.data).toEqual([
      expect.objectContaining({ id: res.json.data.id, api_key: expect.stringMatching(/•+$/) }),
    ]);
  });

  it('names the member after its email or the given name', async () => {
    const { owner } = await seedTeam(h.services);
    const byEmail = await smsto('POST', '/user/create', owner.apiKey, {
      auto_generate_credentials: true,
      email: 'billing@acme.test',
    });
    expect(byEmail.json.data).toMatchObject({ name: 'billing', email: 'billing@acme.test' });
    const named = await smsto('POST', '/user/create', owner.apiKey, { name: 'Marketing' });
    expect(named.json.data.name).toBe('Marketing');
  });

  it('refuses a member without a name unless credentials are generated, and a regular user', async () => {
    const { owner, user } = await seedTeam(h.services);
    const unnamed = await smsto('POST', '/user/create', owner.apiKey, { email: 'x@acme.test' });
    expect(unnamed.status).toBe(422);
    expect(unnamed.json).toEqual({
      success: false,
      message: 'name is required unless auto_generate_credentials is true',
      errors: { name: ['name is required unless auto_generate_credentials is true'] },
    });
    const asUser = await smsto('POST', '/user/create', user.apiKey, { auto_generate_credentials: true });
    expect(asUser.status).toBe(403);
    expect(asUser.json.success).toBe(false);
    expect((await h.services.members.list(owner.actor)).total).toBe(3);
  });
});

describe('invitations', () => {
  it('invites, lists the pending invitations and deletes one', async () => {
    const { owner } = await seedTeam(h.services);
    const invited = await smsto('POST', '/user/invite', owner.apiKey, { email: 'New@Acme.test' });
    expect(invited.status).toBe(200);
    expect(invited.json).toMatchObject({
      success: true,
      data: { email: 'new@acme.test', role: 'user', status: 'pending', delivery_status: 'queued' },
    });
    const listed = await smsto('GET', '/invitations', owner.apiKey);
    expect(listed.json).toEqual({ success: true, data: [invited.json.data] });

    const deleted = await smsto('DELETE', `/invitation/${invited.json.data.id}/delete`, owner.apiKey);
    expect(deleted.json).toMatchObject({ success: true, data: { status: 'revoked' } });
    expect((await smsto('GET', '/invitations', owner.apiKey)).json.data).toEqual([]);
    const again = await smsto('DELETE', `/invitation/${invited.json.data.id}/delete`, owner.apiKey);
    expect(again.status).toBe(409);
    expect(again.json).toEqual({ success: false, message: expect.stringContaining('already revoked') });
  });

  it('refuses a malformed email (422), an unknown invitation (404) and a user (403)', async () => {
    const { owner, user } = await seedTeam(h.services);
    const bad = await smsto('POST', '/user/invite', owner.apiKey, { email: 'nope' });
    expect(bad.status).toBe(422);
    expect(bad.json.errors).toHaveProperty('email');
    expect((await smsto('DELETE', '/invitation/99999999/delete', owner.apiKey)).status).toBe(404);
    expect((await smsto('GET', '/invitations', user.apiKey)).status).toBe(403);
  });
});

describe('enable and disable', () => {
  it('flips a member through GET, and its key follows', async () => {
    const { owner, user } = await seedTeam(h.services);
    const disabled = await smsto('GET', `/user/${user.id}/disable`, owner.apiKey);
    expect(disabled.json).toMatchObject({ success: true, data: { id: user.id, status: 'inactive' } });
    expect((await smsto('GET', '/users', user.apiKey)).status).toBe(403);
    const enabled = await smsto('GET', `/user/${user.id}/enable`, owner.apiKey);
    expect(enabled.json.data.status).toBe('active');
    expect((await smsto('GET', '/users', user.apiKey)).status).toBe(200);
  });

  it('refuses the owner (403), an unknown id (404) and a non-numeric id (422)', async () => {
    const { owner, admin } = await seedTeam(h.services);
    expect((await smsto('GET', `/user/${owner.id}/disable`, admin.apiKey)).status).toBe(403);
    expect((await smsto('GET', '/user/99999999/disable', owner.apiKey)).status).toBe(404);
    const word = await smsto('GET', '/user/abc/disable', owner.apiKey);
    expect(word.status).toBe(422);
    expect(word.json.errors).toEqual({ id: ['id must be a numeric id'] });
  });

  it('does nothing on HEAD', async () => {
    const { owner, user } = await seedTeam(h.services);
    const res = await smsto('HEAD', `/user/${user.id}/disable`, owner.apiKey);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
    expect((await h.services.members.show(owner.actor, { id: user.id })).status).toBe('active');
  });
});

describe('credit and debit', () => {
  it('moves money between the master balance and the member', async () => {
    const t = await seedTeam(h.services, { masterBalance: '100' });
    const credit = await smsto('GET', `/user/${t.user.id}/credit?amount=12.5`, t.owner.apiKey);
    expect(credit.status).toBe(200);
    expect(credit.json).toEqual({
      success: true,
      message: '€12.50 moved from the master balance to Uma User',
      data: {
        transfer_id: expect.any(String),
        type: 'credit',
        amount: 12.5,
        currency: 'EUR',
        master_balance: 87.5,
        user: expect.objectContaining({ id: t.user.id, balance: 12.5 }),
        replayed: false,
      },
    });
    const debit = await smsto('GET', `/user/${t.user.id}/debit?amount=2.5`, t.admin.apiKey);
    expect(debit.json).toMatchObject({
      message: '€2.50 moved from Uma User to the master balance',
      data: { type: 'debit', master_balance: 90, user: { balance: 10 } },
    });
    expect(await master(t)).toBe(90_000_000n);
    expect(await balanceOf(t, t.user.id)).toBe(10_000_000n);
  });

  it('moves money once per Idempotency-Key, however often the GET is repeated', async () => {
    const t = await seedTeam(h.services, { masterBalance: '100' });
    const path = `/user/${t.user.id}/credit?amount=5`;
    const key = { 'idempotency-key': 'retry-me-1' };
    const first = await smsto('GET', path, t.owner.apiKey, undefined, key);
    const second = await smsto('GET', path, t.owner.apiKey, undefined, key);
    expect(second.json.data).toMatchObject({ transfer_id: first.json.data.transfer_id, replayed: true });
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await balanceOf(t, t.user.id)).toBe(5_000_000n);

    const otherAmount = await smsto(
      'GET',
      `/user/${t.user.id}/credit?amount=6`,
      t.owner.apiKey,
      undefined,
      key,
    );
    expect(otherAmount.status).toBe(409);
    expect(otherAmount.json.success).toBe(false);
    // Without a key every GET is a new request, as in SMS.to.
    await smsto('GET', path, t.owner.apiKey);
    await smsto('GET', path, t.owner.apiKey);
    expect(await balanceOf(t, t.user.id)).toBe(15_000_000n);
  });

  it.each([
    ['no amount', '', 422, 'amount is required'],
    ['a malformed amount', '?amount=ten', 422, 'amount must be a decimal number like 50 or 12.5, not "ten"'],
    ['more than the master balance', '?amount=1000', 402, expect.any(String)],
    ['the amount twice', '?amount=1&amount=2', 422, 'amount must be given once, as text'],
  ])('refuses %s and moves nothing', async (_case, query, status, message) => {
    const t = await seedTeam(h.services, { masterBalance: '10' });
    const res = await smsto('GET', `/user/${t.user.id}/credit${query}`, t.owner.apiKey);
    expect(res.status).toBe(status);
    expect(res.json).toMatchObject({ success: false, message });
    expect(await master(t)).toBe(10_000_000n);
  });

  it('refuses a regular user, and HEAD moves nothing', async () => {
    const t = await seedTeam(h.services, { masterBalance: '10' });
    expect((await smsto('GET', `/user/${t.user.id}/credit?amount=1`, t.user.apiKey)).status).toBe(403);
    const head = await smsto('HEAD', `/user/${t.user.id}/credit?amount=1`, t.owner.apiKey);
    expect(head.status).toBe(405);
    expect(await master(t)).toBe(10_000_000n);
  });

  it('has the same effect as the native POST /api/v1/members/{id}/credit', async () => {
    const viaSmsTo = await seedTeam(h.services, { masterBalance: '40' });
    const viaNative = await seedTeam(h.services, { masterBalance: '40' });
    await smsto('GET', `/user/${viaSmsTo.user.id}/credit?amount=3.25&reason=Q4`, viaSmsTo.owner.apiKey);
    await http.request('POST', `/api/v1/members/${viaNative.user.id}/credit`, {
      headers: bearer(viaNative.owner.apiKey),
      json: { amount: '3.25', reason: 'Q4' },
    });
    expect(await observableEffects(h.services, viaSmsTo)).toEqual(
      await observableEffects(h.services, viaNative),
    );
  });
});

describe('DELETE /v1/team/user/{id}/delete', () => {
  it('closes the member and returns its balance to the master', async () => {
    const t = await seedTeam(h.services, { masterBalance: '10' });
    await h.services.ledger.credit(t.owner.actor, { member: { id: t.user.id }, amount: '4' });
    const res = await smsto('DELETE', `/user/${t.user.id}/delete`, t.owner.apiKey);
    expect(res.json).toMatchObject({
      success: true,
      message: 'Uma User was deleted; €4.00 returned to the master balance',
      data: { id: t.user.id, status: 'closed', balance: 0, returned_to_master: 4 },
    });
    expect(await master(t)).toBe(10_000_000n);
    expect((await smsto('GET', '/users', t.user.apiKey)).status).toBe(401);
    expect((await smsto('DELETE', `/user/${t.user.id}/delete`, t.owner.apiKey)).status).toBe(409);
  });

  it('has the same effect as the native DELETE /api/v1/members/{id}', async () => {
    const viaSmsTo = await seedTeam(h.services, { masterBalance: '40' });
    const viaNative = await seedTeam(h.services, { masterBalance: '40' });
    for (const t of [viaSmsTo, viaNative]) {
      await h.services.ledger.credit(t.owner.actor, { member: { id: t.admin.id }, amount: '1.5' });
    }
    await smsto('DELETE', `/user/${viaSmsTo.admin.id}/delete`, viaSmsTo.owner.apiKey);
    await http.request('DELETE', `/api/v1/members/${viaNative.admin.id}`, {
      headers: bearer(viaNative.owner.apiKey),
    });
    expect(await observableEffects(h.services, viaSmsTo)).toEqual(
      await observableEffects(h.services, viaNative),
    );
  });
});

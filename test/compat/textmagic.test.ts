import { describe, expect, it } from 'vitest';
import { DEFAULT_AVATAR } from '../../src/http/compat/textmagic-user.ts';
import { operator } from '../../src/shared/actor.ts';
import { seedTeam, useServices } from '../helpers/services.ts';
import { basic, bearer, observableEffects, type SeededTeam, useHttp } from './helpers.ts';

const h = useServices();
const http = useHttp(h);

type Team = SeededTeam;
const as = (m: { email: string | null; apiKey: string }) => basic(m.email!, m.apiKey);

function tm(method: string, path: string, headers: Record<string, string>, json?: unknown) {
  return http.request(method, `/api/v2/subaccounts${path}`, { headers, json });
}

describe('Textmagic authentication', () => {
  it('accepts HTTP Basic and the X-TM headers, with the username matched case-insensitively', async () => {
    const { owner } = await seedTeam(h.services);
    const viaBasic = await tm('GET', '', basic(owner.email!.toUpperCase(), owner.apiKey));
    expect(viaBasic.status).toBe(200);
    const viaHeaders = await tm('GET', '', { 'x-tm-username': owner.email!, 'x-tm-key': owner.apiKey });
    expect(viaHeaders.status).toBe(200);
    expect(viaHeaders.json).toEqual(viaBasic.json);
    expect(viaBasic.headers.get('cache-control')).toBe('no-store');
  });

  it.each([
    ['no credentials', (_t: Team) => ({})],
    ['a bearer key instead of Basic', (t: Team) => bearer(t.owner.apiKey)],
    ['a username that is not the key’s email', (t: Team) => basic(t.admin.email!, t.owner.apiKey)],
    ['an unknown key', (t: Team) => basic(t.owner.email!, 'tok_not-a-key')],
    ['a key header without a username', (t: Team) => ({ 'x-tm-key': t.owner.apiKey })],
    ['a Basic value without a colon', (t: Team) => ({ authorization: `Basic ${btoa(t.owner.apiKey)}` })],
  ])('refuses %s with 401 in Textmagic’s error shape', async (_case, headers) => {
    const team = await seedTeam(h.services);
    const res = await tm('GET', '', headers(team));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(res.json).toEqual({
      code: 401,
      message: expect.any(String),
      errors: { common: [res.json.message], fields: {} },
    });
  });

  it('refuses a disabled sub-account’s key with 401 (Textmagic has no 403), and takes it again once enabled', async () => {
    const { owner, admin } = await seedTeam(h.services);
    await h.services.members.disable(owner.actor, { id: admin.id });
    const refused = await tm('GET', `/${admin.id}`, as(admin));
    expect(refused.status).toBe(401);
    expect(refused.json).toMatchObject({ code: 401, message: 'This sub-account is inactive' });
    await h.services.members.enable(owner.actor, { id: admin.id });
    expect((await tm('GET', `/${admin.id}`, as(admin))).status).toBe(200);
  });

  it('takes the username or the email as the login, and a changed username at once', async () => {
    const { owner } = await seedTeam(h.services);
    expect((await tm('GET', '', basic(owner.username.toUpperCase(), owner.apiKey))).status).toBe(200);
    expect((await tm('GET', '', basic(owner.email!, owner.apiKey))).status).toBe(200);
    const renamed = await http.request('PATCH', `/api/v1/members/${owner.id}`, {
      headers: bearer(owner.apiKey),
      json: { username: `boss.${owner.id}` },
    });
    expect(renamed.json.username).toBe(`boss.${owner.id}`);
    expect((await tm('GET', '', basic(`boss.${owner.id}`, owner.apiKey))).status).toBe(200);
    expect((await tm('GET', '', basic(owner.username, owner.apiKey))).status).toBe(401);
  });
});

describe('GET /api/v2/subaccounts', () => {
  it('pages through the sub-accounts (never the parent), limit 10 by default, with pageCount', async () => {
    const { owner, admin, user } = await seedTeam(h.services);
    const all = await tm('GET', '', as(owner));
    expect(all.json).toMatchObject({ page: 1, limit: 10, pageCount: 1 });
    expect(all.json.resources.map((u: { id: number }) => u.id)).toEqual([admin.id, user.id]);

    const first = await tm('GET', '?page=1&limit=1', as(owner));
    expect(first.json).toMatchObject({ page: 1, limit: 1, pageCount: 2 });
    expect(first.json.resources.map((u: { id: number }) => u.id)).toEqual([admin.id]);
    const second = await tm('GET', '?page=2&limit=1', as(owner));
    expect(second.json).toMatchObject({ page: 2, limit: 1, pageCount: 2 });
    expect(second.json.resources.map((u: { id: number }) => u.id)).toEqual([user.id]);
    const beyond = await tm('GET', '?page=3&limit=1', as(owner));
    expect(beyond.json).toMatchObject({ page: 3, pageCount: 2, resources: [] });
    expect((await tm('GET', '?limit=5000', as(owner))).json.limit).toBe(100);
  });

  it('answers a malformed page or limit with a 400 naming the field', async () => {
    const { owner } = await seedTeam(h.services);
    const res = await tm('GET', '?limit=ten', as(owner));
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      code: 400,
      message: 'limit must be a whole number',
      errors: { common: [], fields: { limit: ['limit must be a whole number'] } },
    });
    expect((await tm('GET', '?page=x', as(owner))).json.errors.fields).toHaveProperty('page');
  });

  it('answers a regular user 401, as Textmagic does for sub-account endpoints', async () => {
    const { user } = await seedTeam(h.services);
    const res = await tm('GET', '', as(user));
    expect(res.status).toBe(401);
    expect(res.json).toMatchObject({ code: 401 });
  });
});

describe('GET /api/v2/subaccounts/{id}', () => {
  it('is the full User resource, balance as a number and the team currency’s symbols', async () => {
    const { team, owner, user } = await seedTeam(h.services, { masterBalance: '100' });
    await h.services.ledger.credit(owner.actor, { member: { id: user.id }, amount: '12.345678' });
    const res = await tm('GET', `/${user.id}`, as(owner));
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      id: user.id,
      username: user.username,
      firstName: 'Uma',
      lastName: 'User',
      email: user.email,
      status: 'A',
      balance: 12.345678,
      phone: '',
      company: team.name,
      currency: { id: 'EUR', unicodeSymbol: '€', htmlSymbol: '&euro;' },
      country: { id: 'ZZ', name: 'Unknown' },
      timezone: { id: 0, area: 'Etc', dst: 0, offset: 0, timezone: 'UTC' },
      subaccountType: 'U',
      emailAccepted: true,
      phoneAccepted: false,
      avatar: { href: DEFAULT_AVATAR },
      displayTimeFormat: '24h',
    });
  });

  it('maps roles to A/U, shows a disabled sub-account as A, and hides the parent, invitees and closed members', async () => {
    const { owner, admin, user } = await seedTeam(h.services, { currency: 'USD' });
    await h.services.members.disable(owner.actor, { id: admin.id });
    const invited = await h.services.invitations.invite(owner.actor, {
      email: 'new.person@acme.test',
      role: 'user',
    });
    const show = async (id: number) => await tm('GET', `/${id}`, as(owner));

    expect((await show(admin.id)).json).toMatchObject({
      subaccountType: 'A',
      status: 'A',
      firstName: 'Adam',
      lastName: 'Admin',
      currency: { id: 'USD', unicodeSymbol: '$', htmlSymbol: '&#36;' },
    });
    expect((await show(user.id)).json).toMatchObject({ subaccountType: 'U', status: 'A' });
    await h.services.members.close(owner.actor, { id: user.id });
    for (const id of [owner.id, invited.memberId!, user.id]) {
      const res = await show(id);
      expect(res.status).toBe(404);
      expect(res.json).toMatchObject({ code: 404 });
    }
    const listed = await tm('GET', '', as(owner));
    expect(listed.json.resources.map((u: { id: number }) => u.id)).toEqual([admin.id]);
  });

  it('answers 404 for an unknown, foreign or non-numeric id, and 403 to a user asking about another', async () => {
    const mine = await seedTeam(h.services);
    const theirs = await seedTeam(h.services);
    for (const id of ['99999999', String(theirs.user.id), 'abc']) {
      const res = await tm('GET', `/${id}`, as(mine.owner));
      expect(res.status).toBe(404);
      expect(res.json).toMatchObject({ code: 404, errors: { common: [res.json.message], fields: {} } });
    }
    const forbidden = await tm('GET', `/${mine.admin.id}`, as(mine.user));
    expect(forbidden.status).toBe(401);
    expect(forbidden.json.code).toBe(401);
  });
});

describe('POST /api/v2/subaccounts', () => {
  it('invites with role A or U and answers 204; JSON and form bodies both work', async () => {
    const { owner } = await seedTeam(h.services);
    const json = await tm('POST', '', as(owner), { email: 'Boss@Acme.test', role: 'A', company: 'Acme' });
    expect(json.status).toBe(204);
    const form = await http.request('POST', '/api/v2/subaccounts', {
      headers: as(owner),
      form: { email: 'clerk@acme.test', role: 'U' },
    });
    expect(form.status).toBe(204);
    const pending = await h.services.invitations.list(owner.actor);
    expect(pending.map((i) => [i.email, i.role, i.status, i.deliveryStatus])).toEqual([
      ['clerk@acme.test', 'user', 'pending', 'queued'],
      ['boss@acme.test', 'admin', 'pending', 'queued'],
    ]);
    // Pending invitees are not sub-accounts yet.
    const listed = await tm('GET', '', as(owner));
    expect(listed.json.resources.map((u: { email: string }) => u.email)).not.toContain('clerk@acme.test');
  });

  it.each([
    ['no role', { email: 'a@acme.test' }, 'role'],
    ['an unknown role', { email: 'a@acme.test', role: 'P' }, 'role'],
    ['no email', { role: 'U' }, 'email'],
    ['a malformed email', { email: 'not-an-email', role: 'U' }, 'email'],
  ])('refuses %s with a 400 field error and invites no one', async (_case, body, field) => {
    const { owner } = await seedTeam(h.services);
    const res = await tm('POST', '', as(owner), body);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      code: 400,
      message: expect.any(String),
      errors: { common: [], fields: { [field]: [res.json.message] } },
    });
    expect(await h.services.invitations.list(owner.actor)).toEqual([]);
  });

  it('refuses a regular user (401) and an email already in the team (400)', async () => {
    const { owner, user, admin } = await seedTeam(h.services);
    const forbidden = await tm('POST', '', as(user), { email: 'x@acme.test', role: 'U' });
    expect(forbidden.status).toBe(401);
    const taken = await tm('POST', '', as(owner), { email: admin.email, role: 'U' });
    expect(taken.status).toBe(400);
    expect(taken.json).toMatchObject({ code: 400, message: expect.stringContaining(admin.email!) });
    expect(await h.services.invitations.list(owner.actor)).toEqual([]);
  });

  it('answers a body that is not JSON with 400', async () => {
    const { owner } = await seedTeam(h.services);
    const res = await tm('POST', '', as(owner), '{"email":');
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 400, message: 'The request body is not valid JSON' });
  });
});

describe('DELETE /api/v2/subaccounts/{id}', () => {
  it('closes the sub-account (204), returns its balance to the master and refuses its key', async () => {
    const { team, owner, user } = await seedTeam(h.services, { masterBalance: '50' });
    await h.services.ledger.credit(owner.actor, { member: { id: user.id }, amount: '20' });
    const res = await tm('DELETE', `/${user.id}`, as(owner));
    expect(res.status).toBe(204);
    expect((await h.services.teams.get(operator, team.id)).masterBalance).toBe(50_000_000n);
    // A closed sub-account is gone, as on Textmagic.
    expect((await tm('GET', `/${user.id}`, as(owner))).status).toBe(404);
    expect((await tm('GET', '', as(user))).status).toBe(401);
    const again = await tm('DELETE', `/${user.id}`, as(owner));
    expect(again.status).toBe(404);
  });

  it('answers 404 for the parent (not a sub-account) and an unknown id, and closes neither', async () => {
    const { owner, admin } = await seedTeam(h.services);
    expect((await tm('DELETE', `/${owner.id}`, as(admin))).status).toBe(404);
    expect((await tm('DELETE', '/99999999', as(owner))).status).toBe(404);
    expect((await h.services.members.show(owner.actor, { id: owner.id })).status).toBe('active');
  });
});

describe('the same service calls as the native API', () => {
  it('has the same effect as the native DELETE /api/v1/members/{id}', async () => {
    const viaTextmagic = await seedTeam(h.services, { masterBalance: '30' });
    const viaNative = await seedTeam(h.services, { masterBalance: '30' });
    for (const t of [viaTextmagic, viaNative]) {
      await h.services.ledger.credit(t.owner.actor, { member: { id: t.user.id }, amount: '7.5' });
    }
    expect((await tm('DELETE', `/${viaTextmagic.user.id}`, as(viaTextmagic.owner))).status).toBe(204);
    const native = await http.request('DELETE', `/api/v1/members/${viaNative.user.id}`, {
      headers: bearer(viaNative.owner.apiKey),
    });
    expect(native.status).toBe(200);
    expect(await observableEffects(h.services, viaTextmagic)).toEqual(
      await observableEffects(h.services, viaNative),
    );
  });

  it('invites exactly as the native POST /api/v1/invitations does', async () => {
    const viaTextmagic = await seedTeam(h.services);
    const viaNative = await seedTeam(h.services);
    await tm('POST', '', as(viaTextmagic.owner), { email: 'same@acme.test', role: 'A' });
    await http.request('POST', '/api/v1/invitations', {
      headers: bearer(viaNative.owner.apiKey),
      json: { email: 'same@acme.test', role: 'admin' },
    });
    expect(await observableEffects(h.services, viaTextmagic)).toEqual(
      await observableEffects(h.services, viaNative),
    );
  });
});

import { beforeAll, describe, expect, it } from 'vitest';
import * as messagingRoutes from '../../src/http/api/messaging.routes.ts';
import * as statsRoutes from '../../src/http/api/stats.routes.ts';
import { operator } from '../../src/shared/actor.ts';
import { useApi } from '../helpers/api.ts';
import { clearOfUtcMidnight } from '../helpers/clock.ts';
import { seedTeam, useServices } from '../helpers/services.ts';
import { expectStatsEqualLog, fund, instantMessaging, runMessagingJobs } from './helpers.ts';

const h = useServices();
const api = useApi(h, [messagingRoutes, statsRoutes]);
const call = api.call;
let team: Awaited<ReturnType<typeof seedTeam>>;

beforeAll(async () => {
  // The file's messages are counted in today's statistics at the end: all of them must be sent
  // on one UTC day.
  await clearOfUtcMidnight(30_000);
  h.services.messaging = instantMessaging(h.orm);
  team = await seedTeam(h.services);
  await h.services.messaging.setPrice(operator, { teamId: team.team.id, prefix: 'default', price: '0.05' });
  await fund(h.services, team.owner.actor, team.user.id, '1');
  await fund(h.services, team.owner.actor, team.admin.id, '1');
});

describe('POST /api/v1/sms', () => {
  it('sends to one number and answers with the message and the balance', async () => {
    const r = await call('POST', '/sms', team.user.apiKey, { to: '+4917012345678', message: 'Hello' });
    expect(r.status).toBe(202);
    expect(r.json).toEqual({
      id: expect.any(String),
      to: '+4917012345678',
      parts: 1,
      cost: '0.05',
      status: 'queued',
      balance: '0.95',
      currency: 'EUR',
    });
  });

  it('sends to a list and answers with a list', async () => {
    const r = await call('POST', '/sms', team.user.apiKey, {
      to: ['+4917012345678', '+12025550123'],
      message: 'a'.repeat(200),
      sender_id: 'ACME',
    });
    expect(r.status).toBe(202);
    expect(r.json).toHaveLength(2);
    expect(r.json.map((m: { parts: number; cost: string }) => [m.parts, m.cost])).toEqual([
      [2, '0.10'],
      [2, '0.10'],
    ]);
    expect(r.json[1].balance).toBe('0.75');
  });

  it('replays a request sent again with the same Idempotency-Key', async () => {
    const body = { to: '+4917012345678', message: 'only once' };
    const first = await call('POST', '/sms', team.admin.apiKey, body, { 'idempotency-key': 'k-1' });
    const again = await call('POST', '/sms', team.admin.apiKey, body, { 'idempotency-key': 'k-1' });
    expect(again.json.id).toBe(first.json.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const other = await call(
      'POST',
      '/sms',
      team.admin.apiKey,
      { ...body, message: 'changed' },
      { 'idempotency-key': 'k-1' },
    );
    expect(other.status).toBe(409);
  });

  it('refuses unknown keys with 401, a disabled member with 403, and charges nothing', async () => {
    expect((await call('POST', '/sms', null, { to: '+4917012345678', message: 'x' })).status).toBe(401);
    expect((await call('POST', '/sms', 'tok_nope', { to: '+4917012345678', message: 'x' })).status).toBe(401);
    const extra = await h.services.members.create(team.owner.actor, { name: 'Disabled Dan' });
    await h.services.members.disable(team.owner.actor, { id: extra.member.id });
    const r = await call('POST', '/sms', extra.apiKey, { to: '+4917012345678', message: 'x' });
    expect(r.status).toBe(403);
  });

  it('names the field at fault with 422', async () => {
    const cases: [unknown, string][] = [
      [{ to: '0170 1234567', message: 'x' }, 'to'],
      [{ to: ['+4917012345678', '+99'], message: 'x' }, 'to[1]'],
      [{ to: '+4917012345678', message: '' }, 'message'],
      [{ to: '+4917012345678', message: 'á'.repeat(700) }, 'message'],
      [{ message: 'x' }, 'to'],
    ];
    for (const [body, field] of cases) {
      const r = await call('POST', '/sms', team.user.apiKey, body);
      expect(r.status, JSON.stringify(body).slice(0, 60)).toBe(422);
      expect(r.json.error).toMatchObject({ code: 'validation', field });
    }
  });

  it('answers 402 when the balance does not cover every recipient, and queues nothing', async () => {
    const before = await h.services.messaging.searchLog(team.user.actor, {});
    const r = await call('POST', '/sms', team.user.apiKey, {
      to: Array(40).fill('+4917012345678'),
      message: 'too many',
    });
    expect(r.status).toBe(402);
    expect(r.json.error.code).toBe('insufficient_funds');
    const after = await h.services.messaging.searchLog(team.user.actor, {});
    expect(after.items.length).toBe(before.items.length);
  });
});

describe('GET /api/v1/messages', () => {
  it('a user sees only its own messages; the owner and admins see everyone', async () => {
    const mine = await call('GET', '/messages', team.user.apiKey);
    expect(mine.status).toBe(200);
    expect(new Set(mine.json.items.map((m: { member: { id: number } }) => m.member.id))).toEqual(
      new Set([team.user.id]),
    );
    const all = await call('GET', '/messages', team.owner.apiKey);
    expect(new Set(all.json.items.map((m: { member: { id: number } }) => m.member.id))).toEqual(
      new Set([team.user.id, team.admin.id]),
    );
    expect((await call('GET', `/messages?member=${team.admin.id}`, team.user.apiKey)).status).toBe(403);
    const admins = await call(
      'GET',
      `/messages?member=${encodeURIComponent(team.admin.email!)}`,
      team.owner.apiKey,
    );
    expect(admins.json.items.every((m: { member: { id: number } }) => m.member.id === team.admin.id)).toBe(
      true,
    );
  });

  it('filters by status, recipient, text and date, and pages with a cursor', async () => {
    await runMessagingJobs(h.orm, h.services.messaging);
    const delivered = await call('GET', '/messages?status=delivered', team.user.apiKey);
    expect(delivered.json.items.length).toBe(3);
    const us = await call(
      'GET',
      `/messages?recipient=${encodeURIComponent('+12025550123')}`,
      team.user.apiKey,
    );
    expect(us.json.items.map((m: { to: string }) => m.to)).toEqual(['+12025550123']);
    const hello = await call('GET', '/messages?contains=HELL', team.user.apiKey);
    expect(hello.json.items.map((m: { message: string }) => m.message)).toEqual(['Hello']);
    const future = await call('GET', '/messages?from=2999-01-01', team.user.apiKey);
    expect(future.json.items).toEqual([]);

    const page1 = await call('GET', '/messages?limit=2', team.user.apiKey);
    expect(page1.json.items).toHaveLength(2);
    const page2 = await call('GET', `/messages?limit=2&cursor=${page1.json.next_cursor}`, team.user.apiKey);
    expect(page2.json.items).toHaveLength(1);
    expect(page2.json.next_cursor).toBeNull();
    const ids = [...page1.json.items, ...page2.json.items].map((m: { id: string }) => Number(m.id));
    expect(ids).toEqual([...ids].sort((a, b) => b - a));

    expect((await call('GET', '/messages?status=lost', team.user.apiKey)).json.error.field).toBe('status');
    expect((await call('GET', '/messages?cursor=garbage', team.user.apiKey)).json.error.field).toBe('cursor');
  });
});

describe('GET /api/v1/stats', () => {
  it('gives the owner the team and every member, a user only itself', async () => {
    const owner = await call('GET', '/stats?period=today', team.owner.apiKey);
    expect(owner.status).toBe(200);
    // 6 parts at 0.05: the user's 1 + 2 + 2 and the admin's 1.
    expect(owner.json.team).toMatchObject({ messages: 4, parts: 6, cost: '0.30', delivered: 4, failed: 0 });
    await expectStatsEqualLog(h.orm, team.team.id);
    expect(owner.json.members.map((m: { member: { id: number } }) => m.member.id).sort()).toEqual(
      [team.user.id, team.admin.id].sort(),
    );
    const user = await call('GET', '/stats?group_by=day', team.user.apiKey);
    expect(user.json.team).toBeNull();
    expect(user.json.members).toHaveLength(1);
    expect(user.json.members[0]).toMatchObject({
      member: { id: team.user.id },
      messages: 3,
      parts: 5,
      cost: '0.25',
    });
    expect(user.json.members[0].days).toHaveLength(1);
    expect((await call('GET', `/stats?member=${team.admin.id}`, team.user.apiKey)).status).toBe(403);
    expect((await call('GET', '/stats?from=2026-02-30', team.user.apiKey)).json.error.field).toBe('from');
  });
});

import { describe, expect, it } from 'vitest';
import * as creditRequestsRoutes from '../../src/http/api/credit-requests.routes.ts';
import { openApiDocument } from '../../src/http/api/openapi.ts';
import { useApi } from '../helpers/api.ts';
import { seedTeam, useServices } from '../helpers/services.ts';

const h = useServices();
const api = useApi(h, [creditRequestsRoutes]);

describe('the native API for credit requests', () => {
  it('lets a member ask, and the owner approve once: a second approval changes nothing', async () => {
    const { owner, user } = await seedTeam(h.services, { masterBalance: '100' });
    const created = await api.call('POST', '/credit-requests', user.apiKey, {
      amount: 12.5,
      reason: 'Q4 push',
    });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      member: { id: user.id, name: 'Uma User' },
      amount: '12.50',
      reason: 'Q4 push',
      status: 'open',
      decided_by: null,
      transfer_id: null,
    });
    const id = created.json.id;

    const approved = await api.call('POST', `/credit-requests/${id}/approve`, owner.apiKey);
    expect(approved.status).toBe(200);
    expect(approved.json).toMatchObject({
      status: 'approved',
      changed: true,
      decided_by: { id: owner.id, name: 'Olivia Owner' },
    });
    expect(approved.json.transfer_id).toMatch(/^\d+$/);
    const again = await api.call('POST', `/credit-requests/${id}/approve`, owner.apiKey);
    expect(again.json).toMatchObject({
      status: 'approved',
      changed: false,
      transfer_id: approved.json.transfer_id,
    });
    const denied = await api.call('POST', `/credit-requests/${id}/deny`, owner.apiKey);
    expect(denied.json).toMatchObject({ status: 'approved', changed: false });

    const shown = await api.call('GET', `/credit-requests/${id}`, user.apiKey);
    expect(shown.json).toMatchObject({ status: 'approved', amount: '12.50' });
    const balance = await h.services.members.show(owner.actor, { id: user.id });
    expect(balance.balance).toBe(12_500_000n);
  });

  it('refuses bad input with 422 naming the field, and a second open request with 409', async () => {
    const { user } = await seedTeam(h.services);
    for (const [body, field, message] of [
      [{}, 'amount', 'amount must be a number like 50 or 12.5'],
      [{ amount: '0' }, 'amount', 'amount must be greater than 0'],
      [{ amount: '1.0000001' }, 'amount', 'amount has more than 6 decimals'],
      [{ amount: '5', reason: 'x'.repeat(501) }, 'reason', 'reason must be at most 500 characters'],
    ] as const) {
      const res = await api.call('POST', '/credit-requests', user.apiKey, body);
      expect({ status: res.status, error: res.json.error }).toEqual({
        status: 422,
        error: { code: 'validation', field, message },
      });
    }
    expect((await api.call('POST', '/credit-requests', user.apiKey, { amount: '5' })).status).toBe(201);
    const second = await api.call('POST', '/credit-requests', user.apiKey, { amount: '6' });
    expect(second.status).toBe(409);
    expect(second.json.error.message).toMatch(/^You already have an open credit request \(#\d+\)/);
  });

  it('answers 403 to a user deciding, 402 when the master cannot pay, and 404 across teams', async () => {
    const a = await seedTeam(h.services, { masterBalance: '10' });
    const b = await seedTeam(h.services);
    const { json: request } = await api.call('POST', '/credit-requests', a.user.apiKey, { amount: '50' });
    const byUser = await api.call('POST', `/credit-requests/${request.id}/approve`, a.user.apiKey);
    expect(byUser.status).toBe(403);
    expect(byUser.json.error.message).toBe('Only the owner and admins can approve or deny credit requests');
    const unpaid = await api.call('POST', `/credit-requests/${request.id}/approve`, a.admin.apiKey);
    expect(unpaid.status).toBe(402);
    expect(unpaid.json.error.message).toContain(`request #${request.id} stays open`);
    expect((await api.call('GET', `/credit-requests/${request.id}`, a.owner.apiKey)).json.status).toBe(
      'open',
    );
    for (const path of [`/credit-requests/${request.id}`, `/credit-requests/${request.id}/deny`]) {
      const method = path.endsWith('deny') ? 'POST' : 'GET';
      expect((await api.call(method, path, b.owner.apiKey)).status).toBe(404);
    }
    const denied = await api.call('POST', `/credit-requests/${request.id}/deny`, a.admin.apiKey);
    expect(denied.json).toMatchObject({
      status: 'denied',
      changed: true,
      decided_by: { name: 'Adam Admin' },
    });
  });

  it('lists newest first with a cursor; a user sees its own, managers all, filtered by status', async () => {
    const a = await seedTeam(h.services, { masterBalance: '100' });
    const others = [];
    for (const name of ['One', 'Two', 'Three']) {
      const { apiKey } = await h.services.members.create(a.owner.actor, { name });
      others.push((await api.call('POST', '/credit-requests', apiKey, { amount: '1' })).json.id);
    }
    const mine = (await api.call('POST', '/credit-requests', a.user.apiKey, { amount: '2' })).json.id;
    await api.call('POST', `/credit-requests/${others[0]}/deny`, a.owner.apiKey);

    const first = await api.call('GET', '/credit-requests?limit=2', a.admin.apiKey);
    expect(first.json.items.map((r: { id: number }) => r.id)).toEqual([mine, others[2]]);
    const second = await api.call(
      'GET',
      `/credit-requests?limit=2&cursor=${first.json.next_cursor}`,
      a.admin.apiKey,
    );
    expect(second.json).toEqual({ items: [expect.objectContaining({ id: others[1] })], next_cursor: null });
    const all = await api.call('GET', '/credit-requests?status=all', a.owner.apiKey);
    expect(all.json.items).toHaveLength(4);
    const denied = await api.call('GET', '/credit-requests?status=denied', a.owner.apiKey);
    expect(denied.json.items.map((r: { id: number }) => r.id)).toEqual([others[0]]);

    const asUser = await api.call('GET', '/credit-requests?status=all', a.user.apiKey);
    expect(asUser.json.items.map((r: { id: number }) => r.id)).toEqual([mine]);
    expect((await api.call('GET', `/credit-requests/${others[1]}`, a.user.apiKey)).status).toBe(404);
    const badStatus = await api.call('GET', '/credit-requests?status=maybe', a.owner.apiKey);
    expect(badStatus.status).toBe(422);
    const badCursor = await api.call('GET', '/credit-requests?cursor=Ek85t', a.owner.apiKey);
    expect({ status: badCursor.status, error: badCursor.json.error }).toEqual({
      status: 422,
      error: {
        code: 'validation',
        field: 'cursor',
        message: 'cursor must be the next_cursor of an earlier page',
      },
    });
  });

  it('is described in the OpenAPI document generated from its schemas', () => {
    const paths = openApiDocument.paths as Record<string, Record<string, { operationId: string }>>;
    expect(paths['/credit-requests']?.post?.operationId).toBe('requestCredit');
    expect(paths['/credit-requests']?.get?.operationId).toBe('listCreditRequests');
    expect(paths['/credit-requests/{id}']?.get?.operationId).toBe('getCreditRequest');
    expect(paths['/credit-requests/{id}/approve']?.post?.operationId).toBe('approveCreditRequest');
    expect(paths['/credit-requests/{id}/deny']?.post?.operationId).toBe('denyCreditRequest');
    expect(openApiDocument.components.schemas).toHaveProperty('CreditRequest');
  });
});

import { describe, expect, it } from 'vitest';
import { operator } from '../../src/shared/actor.ts';
import { seedTeam, useServices } from '../helpers/services.ts';
import { useHttp } from './helpers.ts';

/**
 * The requests exactly as intergo/sms.to-php's Team module sends them (Guzzle, headers
 * Content-Type and Accept application/json, bearer key; GETs and DELETEs without a body).
 */
const h = useServices();
const http = useHttp(h);

async function phpSdk(method: 'GET' | 'POST' | 'DELETE', path: string, key: string, data?: unknown) {
  const response = await fetch(`${http.url()}/v1${path}`, {
    method,
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      Authorization: `Bearer ${key}`,
    },
    body: data === undefined ? undefined : JSON.stringify(data),
  });
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions
  const json: any = await response.json();
  return { status: response.status, json };
}

describe('SMS.to team API as its PHP SDK calls it', () => {
  it('allMembers lists active and disabled members only; allInvitations the pending invitees', async () => {
    const { owner, admin, user } = await seedTeam(h.services);
    await h.services.members.disable(owner.actor, { id: admin.id });
    const invitation = await h.services.invitations.invite(owner.actor, {
      email: 'pending@acme.test',
      role: 'user',
    });
    const gone = await h.services.members.create(owner.actor, { name: 'Gone' });
    await h.services.members.close(owner.actor, { id: gone.member.id });

    const members = await phpSdk('GET', '/team/users', owner.apiKey);
    expect(members.status).toBe(200);
    expect(members.json.data.map((m: { id: number; status: string }) => [m.id, m.status])).toEqual([
      [owner.id, 'active'],
      [admin.id, 'inactive'],
      [user.id, 'active'],
    ]);
    expect(members.json.meta).toMatchObject({ total: 3 });
    const invitations = await phpSdk('GET', '/team/invitations', owner.apiKey);
    expect(invitations.json.data.map((i: { id: number; email: string }) => [i.id, i.email])).toEqual([
      [invitation.id, 'pending@acme.test'],
    ]);
  });

  it('generateMember, inviteMemberByEmail, disable, enable, credit, debit, delete and deleteInvite', async () => {
    const { team, owner } = await seedTeam(h.services, { masterBalance: '100' });
    const generated = await phpSdk('POST', '/team/user/create', owner.apiKey, {
      auto_generate_credentials: true,
      terms_conditions: true,
    });
    expect(generated.status).toBe(200);
    expect(generated.json).toMatchObject({ success: true, data: { status: 'active' } });
    const id = generated.json.data.id as number;

    const invited = await phpSdk('POST', '/team/user/invite', owner.apiKey, { email: 'new@acme.test' });
    expect(invited.json).toMatchObject({
      success: true,
      data: { email: 'new@acme.test', status: 'pending' },
    });

    expect((await phpSdk('GET', `/team/user/${id}/disable`, owner.apiKey)).json.data.status).toBe('inactive');
    expect((await phpSdk('GET', `/team/user/${id}/enable`, owner.apiKey)).json.data.status).toBe('active');
    const credit = await phpSdk('GET', `/team/user/${id}/credit?amount=10`, owner.apiKey);
    expect(credit.json).toMatchObject({ success: true, data: { amount: 10, master_balance: 90 } });
    const debit = await phpSdk('GET', `/team/user/${id}/debit?amount=4`, owner.apiKey);
    expect(debit.json).toMatchObject({ success: true, data: { amount: 4, master_balance: 94 } });

    const deleted = await phpSdk('DELETE', `/team/user/${id}/delete`, owner.apiKey);
    expect(deleted.json).toMatchObject({ success: true, data: { returned_to_master: 6 } });
    expect((await h.services.teams.get(operator, team.id)).masterBalance).toBe(100_000_000n);
    const listed = await phpSdk('GET', '/team/users', owner.apiKey);
    expect(listed.json.data.map((m: { id: number }) => m.id)).not.toContain(id);

    const revoked = await phpSdk('DELETE', `/team/invitation/${invited.json.data.id}/delete`, owner.apiKey);
    expect(revoked.json).toMatchObject({ success: true, data: { status: 'revoked' } });
    expect((await phpSdk('GET', '/team/invitations', owner.apiKey)).json.data).toEqual([]);
  });

  it('answers refusals as {success: false, message}', async () => {
    const { owner, user } = await seedTeam(h.services, { masterBalance: '1' });
    const tooMuch = await phpSdk('GET', `/team/user/${user.id}/credit?amount=5`, owner.apiKey);
    expect(tooMuch.json).toEqual({ success: false, message: expect.stringContaining('master balance') });
    const asUser = await phpSdk('GET', '/team/invitations', user.apiKey);
    expect(asUser).toEqual({ status: 403, json: { success: false, message: expect.any(String) } });
    const unknown = await phpSdk('GET', '/team/user/99999999/disable', owner.apiKey);
    expect(unknown).toEqual({ status: 404, json: { success: false, message: expect.any(String) } });
  });
});

import { SubAccounts } from '@vonage/subaccounts';
import { describe, expect, it } from 'vitest';
import { operator } from '../../src/shared/actor.ts';
import { seedTeam, useServices } from '../helpers/services.ts';
import { basic, useHttp } from './helpers.ts';

const h = useServices();
const http = useHttp(h);

/** The real Vonage client, pointed at this instance and signed in as an account. */
function vonage(account: { keyId: string; apiKey: string }) {
  return new SubAccounts({ apiKey: account.keyId, apiSecret: account.apiKey }, { apiHost: http.url() });
}

/** What the SDK threw: the status and Vonage's problem body. */
async function failure(promise: Promise<unknown>) {
  const error = (await promise.then(
    () => expect.fail('the call should have failed'),
    (e: unknown) => e,
  )) as { response: Response };
  // biome-ignore lint/suspicious/noExplicitAny: problem bodies are checked by the assertions
  const body: any = await error.response.json();
  return { status: error.response.status, body };
}

const problem = (status: number) => ({
  type: expect.stringMatching(/^https:\/\/developer\.nexmo\.com\/api-errors/),
  title: expect.any(String),
  detail: expect.any(String),
  instance: expect.stringMatching(/^[0-9a-f]{32}$/),
  ...(status === 422 ? { invalid_parameters: expect.any(Array) } : {}),
});

describe('Vonage Subaccounts API with @vonage/subaccounts', () => {
  it('lists the primary account (the team) and its sub-accounts, without invitees or closed members', async () => {
    const t = await seedTeam(h.services);
    await h.services.ledger.credit(t.owner.actor, { member: { id: t.user.id }, amount: '12.5' });
    await h.services.invitations.invite(t.owner.actor, {
      email: `new-${t.team.id}@example.com`,
      role: 'user',
    });
    const gone = await h.services.members.create(t.owner.actor, { name: 'Gone' });
    await h.services.members.close(t.owner.actor, { id: gone.member.id });

    const client = vonage(t.owner);
    const primary = await client.getPrimaryAccount();
    expect(primary).toMatchObject({
      apiKey: t.owner.keyId,
      name: t.team.name,
      balance: 987.5,
      suspended: false,
    });
    const subs = await client.listSubAccounts();
    expect(subs.map((s) => s.apiKey)).toEqual([t.admin.keyId, t.user.keyId]);
    expect(subs[1]).toMatchObject({
      name: 'Uma User',
      primaryAccountApiKey: t.owner.keyId,
      usePrimaryAccountBalance: false,
      suspended: false,
      balance: 12.5,
    });
    expect(subs[1]!.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const page = await client.getSubAccountPage();
    expect(page.total_balance).toBe(1000);
  });

  it('creates a sub-account that shares the master balance by default, with its secret shown', async () => {
    const t = await seedTeam(h.services);
    const client = vonage(t.owner);
    const created = (await client.createSubAccount({ name: 'Department A' })) as unknown as Record<
      string,
      unknown
    >;
    expect(created).toMatchObject({
      name: 'Department A',
      usePrimaryAccountBalance: true,
      balance: null,
      creditLimit: null,
      suspended: false,
    });
    expect(created.apiKey).toMatch(/^[0-9a-f]{8}$/);
    // The new account's own credentials work at once.
    const own = await http.request('GET', `/api/v1/team`, {
      headers: { authorization: `Bearer ${created.secret as string}` },
    });
    expect(own.status).toBe(200);

    const chosen = await client.createSubAccount({
      name: 'Department B',
      secret: 'Password123',
      usePrimaryAccountBalance: false,
    });
    expect(chosen).toMatchObject({ usePrimaryAccountBalance: false, balance: 0, creditLimit: 0 });
    expect((chosen as unknown as { secret: string }).secret).toBe('Password123');
    const fetched = await client.getSubAccount(chosen.apiKey);
    expect(fetched.name).toBe('Department B');
  });

  it('refuses a weak secret and a non-boolean flag with 422 naming the parameter', async () => {
    const t = await seedTeam(h.services);
    const client = vonage(t.owner);
    const weak = await failure(client.createSubAccount({ name: 'X', secret: 'short' }));
    expect(weak.status).toBe(422);
    expect(weak.body).toEqual(problem(422));
    expect(weak.body.invalid_parameters).toEqual([{ name: 'secret', reason: expect.any(String) }]);
    const flag = await failure(
      client.createSubAccount({ name: 'X', usePrimaryAccountBalance: 'yes' as unknown as boolean }),
    );
    expect(flag.body.invalid_parameters[0].name).toBe('use_primary_account_balance');
    const unnamed = await failure(client.createSubAccount({} as never));
    expect(unnamed.status).toBe(422);
  });

  it('suspends a sub-account: its key stops working at once, and works again when unsuspended', async () => {
    const t = await seedTeam(h.services);
    const client = vonage(t.owner);
    const suspended = await client.updateSubAccount(t.user.keyId, { suspended: true });
    expect(suspended.suspended).toBe(true);
    const refused = await failure(vonage(t.user).listSubAccounts());
    expect(refused.status).toBe(403);
    const native = await http.request('GET', '/api/v1/team', {
      headers: { authorization: `Bearer ${t.user.apiKey}` },
    });
    expect(native.status).toBe(403);
    const renamed = await client.updateSubAccount(t.user.keyId, { suspended: false, name: 'Uma Renamed' });
    expect(renamed).toMatchObject({ suspended: false, name: 'Uma Renamed' });
    const back = await http.request('GET', '/api/v1/team', {
      headers: { authorization: `Bearer ${t.user.apiKey}` },
    });
    expect(back.status).toBe(200);
  });

  it('moves balance both ways, lists transfers by date and sub-account, and conserves money', async () => {
    const t = await seedTeam(h.services);
    const client = vonage(t.owner);
    const start = new Date(Date.now() - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const credit = await client.transferBalance({
      from: t.owner.keyId,
      to: t.user.keyId,
      amount: 25.5,
      reference: 'June',
    });
    expect(credit).toMatchObject({ from: t.owner.keyId, to: t.user.keyId, amount: 25.5, reference: 'June' });
    const debit = await client.transferBalance({ from: t.user.keyId, to: t.owner.keyId, amount: 5 });
    expect(debit).toMatchObject({ from: t.user.keyId, to: t.owner.keyId, amount: 5 });
    await client.transferBalance({ from: t.owner.keyId, to: t.admin.keyId, amount: 1 });

    const all = await client.listBalanceTransfers({ startDate: start });
    expect(all.map((x) => [x.from, x.to, x.amount])).toEqual([
      [t.owner.keyId, t.user.keyId, 25.5],
      [t.user.keyId, t.owner.keyId, 5],
      [t.owner.keyId, t.admin.keyId, 1],
    ]);
    const onlyAdmin = await client.listBalanceTransfers({ startDate: start, subaccount: t.admin.keyId });
    expect(onlyAdmin.map((x) => x.to)).toEqual([t.admin.keyId]);
    const future = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    expect(await client.listBalanceTransfers({ startDate: future })).toEqual([]);
    const before = await client.listBalanceTransfers({ startDate: '2020-01-01T00:00:00Z', endDate: start });
    expect(before).toEqual([]);

    const team = await h.services.teams.get(operator, t.team.id);
    const members = await h.services.members.list(t.owner.actor, { limit: 100 });
    const total = team.masterBalance + members.items.reduce((sum, m) => sum + m.balance, 0n);
    expect(total).toBe(1000_000_000n);
  });

  it('refuses what Vonage refuses: too much, a shared-balance target, no start_date, sub-to-sub', async () => {
    const t = await seedTeam(h.services);
    const client = vonage(t.owner);
    const tooMuch = await failure(
      client.transferBalance({ from: t.owner.keyId, to: t.user.keyId, amount: 5000 }),
    );
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.invalid_parameters).toEqual([{ name: 'amount', reason: expect.any(String) }]);
    const shared = await client.createSubAccount({ name: 'Shared' });
    const toShared = await failure(
      client.transferBalance({ from: t.owner.keyId, to: shared.apiKey, amount: 1 }),
    );
    expect(toShared.status).toBe(422);
    const sideways = await failure(
      client.transferBalance({ from: t.user.keyId, to: t.admin.keyId, amount: 1 }),
    );
    expect(sideways.status).toBe(422);
    const noStart = await failure(client.listBalanceTransfers({} as never));
    expect(noStart.body.invalid_parameters).toEqual([{ name: 'start_date', reason: expect.any(String) }]);
  });

  it('has no credit limits to move: credit transfers list empty and are refused with 403', async () => {
    const t = await seedTeam(h.services);
    const client = vonage(t.owner);
    expect(await client.listCreditTransfers({ startDate: '2020-01-01T00:00:00Z' })).toEqual([]);
    const refused = await failure(
      client.transferCredit({ from: t.owner.keyId, to: t.user.keyId, amount: '1' }),
    );
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual(problem(403));
  });

  it('answers 401, 403 and 404 in Vonage’s problem shape', async () => {
    const t = await seedTeam(h.services);
    const wrongSecret = await failure(vonage({ keyId: t.owner.keyId, apiKey: 'tok_nope' }).listSubAccounts());
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.body).toEqual(problem(401));
    const wrongId = await failure(vonage({ keyId: t.admin.keyId, apiKey: t.owner.apiKey }).listSubAccounts());
    expect(wrongId.status).toBe(401);
    // A regular user may not manage sub-accounts; an admin may, under the primary account's key.
    const asUser = await http.request('GET', `/accounts/${t.owner.keyId}/subaccounts`, {
      headers: basic(t.user.keyId, t.user.apiKey),
    });
    expect(asUser.status).toBe(403);
    expect(asUser.json).toEqual(problem(403));
    const asAdmin = await http.request('GET', `/accounts/${t.owner.keyId}/subaccounts`, {
      headers: basic(t.admin.keyId, t.admin.apiKey),
    });
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.headers.get('content-type')).toMatch(/^application\/json/);
    // The path must name the primary account; another team's or a sub-account's key id is 404.
    const other = await seedTeam(h.services);
    const foreign = await http.request('GET', `/accounts/${other.owner.keyId}/subaccounts`, {
      headers: basic(t.owner.keyId, t.owner.apiKey),
    });
    expect(foreign.status).toBe(404);
    expect(foreign.json).toEqual(problem(404));
    const notPrimary = await http.request('GET', `/accounts/${t.user.keyId}/subaccounts`, {
      headers: basic(t.owner.keyId, t.owner.apiKey),
    });
    expect(notPrimary.status).toBe(404);
    const missing = await failure(vonage(t.owner).getSubAccount('0000beef'));
    expect(missing.status).toBe(404);
    const primaryAsSub = await failure(vonage(t.owner).getSubAccount(t.owner.keyId));
    expect(primaryAsSub.status).toBe(404);
  });
});

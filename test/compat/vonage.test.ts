import { SubAccounts } from '@vonage/subaccounts';
import { describe, expect, it } from 'vitest';
import { queryAll, queryOne } from '../../src/platform/sql.ts';
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

/** A time as Vonage writes it, `ms` from now. */
const vonageNow = (ms: number) => new Date(Date.now() + ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * The team's books: money (master + members + charged − refunded = top-ups) and credit limit
 * (the primary's own + its members' = what the operator granted, and each member's limit is
 * what its credit transfers say), with no balance beyond its limit.
 */
async function expectBooksBalanced(teamId: number, toppedUp: bigint, granted: bigint) {
  const books = await queryOne<Record<string, string>>(
    h.orm.em.fork(),
    `select t.master_balance + (select coalesce(sum(balance), 0) from members where team_id = t.id)
              + (select coalesce(sum(amount), 0) from transfers
                  where team_id = t.id and kind in ('message_charge', 'master_message_charge'))
              - (select coalesce(sum(amount), 0) from transfers where team_id = t.id and kind in ('refund', 'master_refund'))
              as money,
            (select coalesce(sum(amount), 0) from transfers where team_id = t.id and kind = 'master_topup') as topups,
            t.credit_limit + (select coalesce(sum(credit_limit), 0) from members where team_id = t.id) as credit,
            (select count(*) from members m where m.team_id = t.id and m.credit_limit <>
               coalesce((select sum(amount) from transfers where to_member_id = m.id and kind = 'credit_limit_transfer'), 0)
             - coalesce((select sum(amount) from transfers where from_member_id = m.id and kind = 'credit_limit_transfer'), 0))
              as credit_drift
       from teams t where t.id = ?`,
    [teamId],
  );
  expect(BigInt(books!.money!)).toBe(toppedUp);
  expect(BigInt(books!.topups!)).toBe(toppedUp);
  expect(BigInt(books!.credit!)).toBe(granted);
  expect(books!.credit_drift).toBe('0');
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

  it('refuses what Vonage refuses: too much or a shared-balance target (invalid transfers), no start_date, sub-to-sub', async () => {
    const t = await seedTeam(h.services);
    const client = vonage(t.owner);
    const tooMuch = await failure(
      client.transferBalance({ from: t.owner.keyId, to: t.user.keyId, amount: 5000 }),
    );
    expect(tooMuch.status).toBe(403);
    expect(tooMuch.body).toMatchObject({
      title: 'Invalid Transfer',
      detail: expect.stringMatching(/not enough/),
    });
    const shared = await client.createSubAccount({ name: 'Shared' });
    const toShared = await failure(
      client.transferBalance({ from: t.owner.keyId, to: shared.apiKey, amount: 1 }),
    );
    expect(toShared.status).toBe(403);
    const sideways = await failure(
      client.transferBalance({ from: t.user.keyId, to: t.admin.keyId, amount: 1 }),
    );
    expect(sideways.status).toBe(422);
    const noStart = await failure(client.listBalanceTransfers({} as never));
    expect(noStart.body.invalid_parameters).toEqual([{ name: 'start_date', reason: expect.any(String) }]);
  });

  it('moves credit limit both ways, lists credit transfers by date and sub-account, and shows the limits', async () => {
    const t = await seedTeam(h.services);
    await h.services.ledger.setCreditLimit(operator, { teamId: t.team.id, creditLimit: '100' });
    const client = vonage(t.owner);
    const start = vonageNow(-1000);
    const lent = await client.transferCredit({
      from: t.owner.keyId,
      to: t.user.keyId,
      amount: '30',
      reference: 'Q3',
    });
    expect(lent).toMatchObject({ from: t.owner.keyId, to: t.user.keyId, amount: 30, reference: 'Q3' });
    expect(lent.creditTransferId).toMatch(/^\d+$/);
    expect(lent.createdAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const back = await client.transferCredit({ from: t.user.keyId, to: t.owner.keyId, amount: '10' });
    expect(back).toMatchObject({ from: t.user.keyId, to: t.owner.keyId, amount: 10, reference: '' });
    await client.transferCredit({ from: t.owner.keyId, to: t.admin.keyId, amount: '5' });

    // Vonage shows a credit limit as the lowest the balance may reach.
    expect((await client.getPrimaryAccount()).creditLimit).toBe(-75);
    expect((await client.getSubAccount(t.user.keyId)).creditLimit).toBe(-20);
    expect((await client.getSubAccountPage()).total_credit_limit).toBe(-100);
    const native = await http.request('GET', `/api/v1/members/${t.user.id}`, {
      headers: { authorization: `Bearer ${t.owner.apiKey}` },
    });
    expect(native.json).toMatchObject({ credit_limit: '20.00' });
    const team = await http.request('GET', '/api/v1/team', {
      headers: { authorization: `Bearer ${t.owner.apiKey}` },
    });
    expect(team.json).toMatchObject({ credit_limit: '75.00' });

    const all = await client.listCreditTransfers({ startDate: start });
    expect(all.map((x) => [x.from, x.to, x.amount])).toEqual([
      [t.owner.keyId, t.user.keyId, 30],
      [t.user.keyId, t.owner.keyId, 10],
      [t.owner.keyId, t.admin.keyId, 5],
    ]);
    expect(all[0]!.creditTransferId).toBe(lent.creditTransferId);
    const onlyAdmin = await client.listCreditTransfers({
      startDate: start,
      subaccount: t.admin.keyId,
    } as never);
    expect(onlyAdmin.map((x) => x.to)).toEqual([t.admin.keyId]);
    expect(await client.listCreditTransfers({ startDate: vonageNow(3_600_000) })).toEqual([]);
    expect(await client.listCreditTransfers({ startDate: '2020-01-01T00:00:00Z', endDate: start })).toEqual(
      [],
    );
    // Credit transfers move no money: they are not balance transfers.
    expect(await client.listBalanceTransfers({ startDate: start })).toEqual([]);
    const noStart = await failure(client.listCreditTransfers({} as never));
    expect(noStart.body.invalid_parameters).toEqual([{ name: 'start_date', reason: expect.any(String) }]);

    const audited = await queryAll<{ details: Record<string, string> }>(
      h.orm.em.fork(),
      "select details from audit_events where team_id = ? and action = 'ledger.credit_limit_transfer' order by id",
      [t.team.id],
    );
    expect(audited.map((a) => [a.details.direction, a.details.memberCreditLimitAfter])).toEqual([
      ['to_member', '30000000'],
      ['to_primary', '20000000'],
      ['to_member', '5000000'],
    ]);
  });

  it('lets a member send into its credit limit, refuses beyond it, and keeps the books', async () => {
    const t = await seedTeam(h.services, { masterBalance: '10' });
    await h.services.messaging.setPrice(operator, { teamId: t.team.id, prefix: 'default', price: '0.4' });
    await h.services.ledger.setCreditLimit(operator, { teamId: t.team.id, creditLimit: '5' });
    const client = vonage(t.owner);
    await client.transferCredit({ from: t.owner.keyId, to: t.user.keyId, amount: '1' });
    await client.transferBalance({ from: t.owner.keyId, to: t.user.keyId, amount: 0.5 });
    const send = () => h.services.messaging.send(t.user.actor, { to: '+14155552671', message: 'hi' });
    expect((await send()).balance).toBe(100_000n); // 0.5 − 0.4
    expect((await send()).balance).toBe(-300_000n); // into the credit limit
    expect((await send()).balance).toBe(-700_000n);
    await expect(send()).rejects.toMatchObject({ code: 'insufficient_funds' });
    expect((await client.getSubAccount(t.user.keyId)).balance).toBe(-0.7);
    // Credit the member has used cannot be taken back; the unused part can.
    const used = await failure(
      client.transferCredit({ from: t.user.keyId, to: t.owner.keyId, amount: '0.5' }),
    );
    expect(used.status).toBe(403);
    await client.transferCredit({ from: t.user.keyId, to: t.owner.keyId, amount: '0.3' });
    // The primary account spends into its own credit limit too, and no further.
    await client.transferBalance({ from: t.owner.keyId, to: t.admin.keyId, amount: 9.5 });
    await client.transferBalance({ from: t.owner.keyId, to: t.admin.keyId, amount: 4.3 });
    expect((await client.getPrimaryAccount()).balance).toBe(-4.3);
    const beyond = await failure(
      client.transferBalance({ from: t.owner.keyId, to: t.admin.keyId, amount: 0.1 }),
    );
    expect(beyond.status).toBe(403);

    // A member below zero cannot be closed; credited back to zero, its close returns the limit.
    await expect(h.services.members.close(t.owner.actor, { id: t.user.id })).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('owes €0.70'),
    });
    await client.transferBalance({ from: t.admin.keyId, to: t.owner.keyId, amount: 1 });
    await client.transferBalance({ from: t.owner.keyId, to: t.user.keyId, amount: 0.7 });
    await h.services.members.close(t.owner.actor, { id: t.user.id });
    expect((await client.getPrimaryAccount()).creditLimit).toBe(-5);
    await expectBooksBalanced(t.team.id, 10_000_000n, 5_000_000n);
  });

  it('refuses credit transfers as Vonage does: too much, unknown, suspended, shared balance, not the primary', async () => {
    const t = await seedTeam(h.services);
    await h.services.ledger.setCreditLimit(operator, { teamId: t.team.id, creditLimit: '10' });
    const client = vonage(t.owner);
    const invalid = {
      type: 'https://developer.nexmo.com/api-errors/subaccounts#invalid-transfer',
      title: 'Invalid Transfer',
      detail: expect.any(String),
      instance: expect.stringMatching(/^[0-9a-f]{32}$/),
    };
    const tooMuch = await failure(
      client.transferCredit({ from: t.owner.keyId, to: t.user.keyId, amount: '10.01' }),
    );
    expect(tooMuch.status).toBe(403);
    expect(tooMuch.body).toEqual(invalid);
    expect(tooMuch.body.detail).toMatch(/€10\.00 of credit limit to lend/);
    const moreBack = await failure(
      client.transferCredit({ from: t.user.keyId, to: t.owner.keyId, amount: '1' }),
    );
    expect(moreBack.body).toEqual(invalid);
    const unknown = await failure(
      client.transferCredit({ from: t.owner.keyId, to: '0000beef', amount: '1' }),
    );
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual(problem(404));
    const sideways = await failure(
      client.transferCredit({ from: t.user.keyId, to: t.admin.keyId, amount: '1' }),
    );
    expect(sideways.status).toBe(422);
    const badAmount = await failure(
      client.transferCredit({ from: t.owner.keyId, to: t.user.keyId, amount: '-1' }),
    );
    expect(badAmount.body.invalid_parameters).toEqual([{ name: 'amount', reason: expect.any(String) }]);
    await client.updateSubAccount(t.user.keyId, { suspended: true });
    const suspended = await failure(
      client.transferCredit({ from: t.owner.keyId, to: t.user.keyId, amount: '1' }),
    );
    expect(suspended.status).toBe(403);
    expect(suspended.body.detail).toMatch(/inactive/);
    const shared = await client.createSubAccount({ name: 'Shared' });
    const toShared = await failure(
      client.transferCredit({ from: t.owner.keyId, to: shared.apiKey, amount: '1' }),
    );
    expect(toShared.body).toEqual(invalid);
    const asUser = await http.request('POST', `/accounts/${t.owner.keyId}/credit-transfers`, {
      headers: basic(t.admin.keyId, t.admin.apiKey),
      json: { from: t.owner.keyId, to: t.admin.keyId, amount: 1 },
    });
    expect(asUser.status).toBe(200);
    const regular = await http.request('POST', `/accounts/${t.owner.keyId}/credit-transfers`, {
      headers: basic(t.user.keyId, t.user.apiKey),
      json: { from: t.owner.keyId, to: t.admin.keyId, amount: 1 },
    });
    expect(regular.status).toBe(403);
    expect(regular.json).toEqual(problem(403));
    // Nothing refused moved any credit limit.
    expect((await client.getSubAccountPage()).total_credit_limit).toBe(-10);
    expect((await client.getPrimaryAccount()).creditLimit).toBe(-9);
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
    // Number transfers are not served: teamops has no numbers.
    const number = await failure(
      vonage(t.owner).transferNumber({
        from: t.owner.keyId,
        to: t.user.keyId,
        number: '447700900000',
        country: 'GB',
      }),
    );
    expect(number.status).toBe(404);
    expect(number.body).toEqual(problem(404));
  });
});

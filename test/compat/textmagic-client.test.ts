import TextmagicClient from 'textmagic-client';
import { describe, expect, it } from 'vitest';
import { operator } from '../../src/shared/actor.ts';
import { seedTeam, useServices } from '../helpers/services.ts';
import { useHttp } from './helpers.ts';

/** The real Textmagic client (textmagic-client 2.0.23575, the last with sub-account methods). */
const h = useServices();
const http = useHttp(h);

// biome-ignore lint/suspicious/noExplicitAny: the client is untyped JavaScript
type Api = any;

function textmagic(username: string, key: string): Api {
  const client = new TextmagicClient.ApiClient();
  client.basePath = http.url();
  client.authentications.BasicAuth.username = username;
  client.authentications.BasicAuth.password = key;
  return new TextmagicClient.TextMagicApi(client);
}

/** What the client rejected with: the status and Textmagic's error body. */
async function failure(promise: Promise<unknown>) {
  const error = (await promise.then(
    () => expect.fail('the call should have failed'),
    (e: unknown) => e,
  )) as { status: number; response: { body: unknown } };
  // biome-ignore lint/suspicious/noExplicitAny: error bodies are checked by the assertions
  return { status: error.status, body: error.response.body as any };
}

const errorBody = (code: number) => ({
  code,
  message: expect.any(String),
  errors: { common: expect.any(Array), fields: expect.any(Object) },
});

describe('Textmagic sub-accounts through textmagic-client', () => {
  it('lists sub-accounts with the documented pagination, logged in by username', async () => {
    const { owner, admin, user } = await seedTeam(h.services);
    const api = textmagic(owner.username, owner.apiKey);
    // This client version types the list as a User, so the page is read from the raw body.
    const { response } = await api.getSubaccountsWithHttpInfo({ page: 1, limit: 1 });
    expect(response.body).toMatchObject({ page: 1, limit: 1, pageCount: 2 });
    expect(response.body.resources.map((u: { id: number }) => u.id)).toEqual([admin.id]);
    const second = await api.getSubaccountsWithHttpInfo({ page: 2, limit: 1 });
    expect(second.response.body.resources.map((u: { id: number }) => u.id)).toEqual([user.id]);
  });

  it('reads one sub-account as a User, with its own username and balance', async () => {
    const { owner, user } = await seedTeam(h.services, { masterBalance: '100' });
    await h.services.ledger.credit(owner.actor, { member: { id: user.id }, amount: '3.25' });
    const found = await textmagic(owner.email!, owner.apiKey).getSubaccount(user.id);
    expect(found).toBeInstanceOf(TextmagicClient.User);
    expect(found).toMatchObject({
      id: user.id,
      username: user.username,
      email: user.email,
      firstName: 'Uma',
      lastName: 'User',
      status: 'A',
      balance: 3.25,
      subaccountType: 'U',
    });
    expect(found.currency).toMatchObject({ id: 'EUR', unicodeSymbol: '€' });
  });

  it('invites (204) and closes (204), returning the balance to the master', async () => {
    const { team, owner, user } = await seedTeam(h.services, { masterBalance: '50' });
    const api = textmagic(owner.username, owner.apiKey);
    const invite = new TextmagicClient.InviteSubaccountInputObject();
    invite.email = 'invitee@acme.test';
    invite.role = 'U';
    const invited = await api.inviteSubaccountWithHttpInfo(invite);
    expect(invited.response.status).toBe(204);
    expect((await h.services.invitations.list(owner.actor)).map((i) => i.email)).toEqual([
      'invitee@acme.test',
    ]);

    await h.services.ledger.credit(owner.actor, { member: { id: user.id }, amount: '20' });
    const closed = await api.closeSubaccountWithHttpInfo(user.id);
    expect(closed.response.status).toBe(204);
    expect((await h.services.teams.get(operator, team.id)).masterBalance).toBe(50_000_000n);
    const gone = await failure(api.getSubaccount(user.id));
    expect(gone).toEqual({ status: 404, body: errorBody(404) });
  });

  it('answers every refusal with Textmagic’s documented codes and error body', async () => {
    const { owner, admin, user } = await seedTeam(h.services);
    const api = textmagic(owner.username, owner.apiKey);

    const badKey = await failure(textmagic(owner.username, 'tok_wrong').getSubaccounts({}));
    expect(badKey).toEqual({ status: 401, body: errorBody(401) });
    const wrongUser = await failure(textmagic(admin.username, owner.apiKey).getSubaccounts({}));
    expect(wrongUser.status).toBe(401);
    const regular = await failure(textmagic(user.username, user.apiKey).getSubaccounts({}));
    expect(regular).toEqual({ status: 401, body: errorBody(401) });

    const badLimit = await failure(api.getSubaccounts({ limit: 'ten' }));
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.errors.fields).toHaveProperty('limit');

    const duplicate = new TextmagicClient.InviteSubaccountInputObject();
    duplicate.email = admin.email;
    duplicate.role = 'A';
    const taken = await failure(api.inviteSubaccount(duplicate));
    expect(taken).toEqual({ status: 400, body: errorBody(400) });
    const badRole = new TextmagicClient.InviteSubaccountInputObject();
    badRole.email = 'x@acme.test';
    badRole.role = 'P';
    const role = await failure(api.inviteSubaccount(badRole));
    expect(role.body.errors.fields).toHaveProperty('role');

    expect(await failure(api.getSubaccount(99999999))).toEqual({ status: 404, body: errorBody(404) });
    expect((await failure(api.closeSubaccount(owner.id))).status).toBe(404);
  });
});

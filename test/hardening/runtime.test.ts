import { beforeAll, describe, expect, it } from 'vitest';
import { signSlackRequest } from '../helpers/slack-requests.ts';
import { call, SIGNING_SECRET, seedRuntimeTeam, useRuntime, WEBHOOK_SECRET } from './runtime-harness.ts';

/** The real runtime (runtime.ts), as `npm start` wires it: these tests fail when a mount goes missing. */
const h = useRuntime();
/** The one Slack workspace of this file: the fake Slack numbers replies per SlackRequests client. */
let slackTeam: Awaited<ReturnType<typeof seedRuntimeTeam>>;
beforeAll(async () => {
  slackTeam = await seedRuntimeTeam(h, 'T0HARD');
});

function basic(email: string, key: string) {
  return { authorization: `Basic ${Buffer.from(`${email}:${key}`).toString('base64')}` };
}

async function memberCount(services: Awaited<ReturnType<typeof seedRuntimeTeam>>['services'], actor: never) {
  return (await services.members.list(actor)).total;
}

describe('the runtime mounts every surface', () => {
  it('answers on /slack/events, /api/v1, /api/v2/subaccounts, /v1/team, /accounts/:api_key, /invitations/:token, /webhooks/smsto and /readyz', async () => {
    const { team, owner, apiKey } = slackTeam;
    const bearer = { authorization: `Bearer ${apiKey}` };

    const slack = await h.slackRequests().command(owner.slackUserId!, 'balance');
    expect(slack.status).toBe(200);

    const native = await call(h.base, 'GET', '/api/v1/team', { headers: bearer });
    expect(native.status).toBe(200);
    expect(native.json).toMatchObject({ id: team.id, name: team.name });

    const textmagic = await call(h.base, 'GET', '/api/v2/subaccounts', {
      headers: basic(owner.email!, apiKey),
    });
    expect(textmagic.status).toBe(200);
    // Sub-accounts only, as on Textmagic: the owner's own account is the parent, not listed.
    expect(textmagic.json).toMatchObject({ page: 1, resources: [] });

    const vonage = await call(h.base, 'GET', `/accounts/${owner.keyId}/subaccounts`, {
      headers: basic(owner.keyId, apiKey),
    });
    expect(vonage.status).toBe(200);
    expect(vonage.json._embedded.primary_account).toMatchObject({ api_key: owner.keyId, name: team.name });

    const smsto = await call(h.base, 'GET', '/v1/team/users', { headers: bearer });
    expect(smsto.status).toBe(200);
    expect(smsto.json).toMatchObject({ success: true });

    const page = await call(h.base, 'GET', '/invitations/not-a-real-token-0123456789');
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toContain('text/html');

    const webhook = await call(h.base, 'POST', `/webhooks/smsto/${WEBHOOK_SECRET}`, {
      json: { messageId: 'unknown-message', status: 'DELIVERED' },
    });
    // Mounted: the report reached the messaging service, which knows no such message.
    expect(webhook).toMatchObject({
      status: 404,
      json: { error: { message: expect.stringMatching(/No message was sent/) } },
    });

    const ready = await call(h.base, 'GET', '/readyz');
    expect(ready).toMatchObject({ status: 200, json: { status: 'ready', database: 'ok', queue: 'ok' } });
  });
});

describe('text and ranges the database cannot take are refused with 422 naming the field', () => {
  it('in stored names, queried text, cursors and dates, on the native API', async () => {
    const { apiKey, services, owner } = await seedRuntimeTeam(h);
    const bearer = { authorization: `Bearer ${apiKey}` };
    const actor = { kind: 'member', memberId: owner.id, via: 'api' } as never;
    const before = await memberCount(services, actor);
    const cases: Array<[string, string, { json?: unknown; body?: string }, string]> = [
      ['POST', '/api/v1/members', { json: { name: 'Nul\u0000Byte' } }, 'name'],
      ['POST', '/api/v1/members', { body: '{"name":"Lone \\ud800 surrogate"}' }, 'name'],
      ['POST', '/api/v1/members', { json: { name: 'Eve\u202Eevil.exe' } }, 'name'],
      ['POST', '/api/v1/members', { json: { name: 'Zero\u200Bwidth' } }, 'name'],
      ['POST', '/api/v1/members', { json: { name: 'Red \u001b[31malert' } }, 'name'],
      ['POST', '/api/v1/members', { json: { name: 'Fine', email: 'a\u0000@example.com' } }, 'email'],
      ['GET', '/api/v1/messages?contains=%00', {}, 'contains'],
      ['GET', '/api/v1/transfers?cursor=9999999999999999999', {}, 'cursor'],
      ['GET', '/api/v1/messages?to=9999-12-31', {}, 'to'],
      ['GET', '/api/v1/messages?from=%2B275760-09-13T00:00:00Z', {}, 'from'],
      ['GET', '/api/v1/members/9999999999', {}, 'member'],
    ];
    for (const [method, url, body, field] of cases) {
      const res = await call(h.base, method, url, {
        headers: { ...bearer, ...(body.body ? { 'content-type': 'application/json' } : {}) },
        ...body,
      });
      expect({ url, body, status: res.status, field: res.json?.error?.field }).toEqual({
        url,
        body,
        status: 422,
        field,
      });
    }
    expect(await memberCount(services, actor)).toBe(before);
  });

  it('in each compatible API’s own error shape', async () => {
    const { apiKey, owner } = await seedRuntimeTeam(h);
    const textmagic = await call(h.base, 'POST', '/api/v2/subaccounts', {
      headers: basic(owner.email!, apiKey),
      json: { email: 'new\u0000@example.com', role: 'U' },
    });
    expect(textmagic.status).toBe(400);
    expect(textmagic.json).toMatchObject({ code: 400, errors: { fields: { email: [expect.any(String)] } } });

    const smsto = await call(h.base, 'POST', '/v1/team/user/create', {
      headers: { authorization: `Bearer ${apiKey}` },
      json: { name: 'Bidi \u202E name' },
    });
    expect(smsto.status).toBe(422);
    expect(smsto.json).toMatchObject({ success: false, errors: { name: [expect.any(String)] } });
  });

  it('from Slack: a name with a bidi override is refused, and nothing is created', async () => {
    const { owner, services } = slackTeam;
    const actor = { kind: 'member', memberId: owner.id, via: 'api' } as never;
    const before = await memberCount(services, actor);
    const slack = h.slackRequests();
    const res = await slack.command(owner.slackUserId!, 'create "Mallory\u202Egpj.exe" mallory@example.com');
    expect(res.status).toBe(200);
    const reply = await h.slack.waitForResponse(res.responseId);
    expect(JSON.stringify(reply)).toMatch(/must not contain invisible formatting characters/);
    expect(await memberCount(services, actor)).toBe(before);
  });
});

describe('Slack request signatures', () => {
  function signed(body: string, timestamp: number) {
    return {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': signSlackRequest(SIGNING_SECRET, timestamp, body),
    };
  }

  async function commandBody(text: string) {
    const { fields, responseId } = h.slackRequests().commandPayload(slackTeam.owner.slackUserId!, text);
    return { body: new URLSearchParams(fields).toString(), responseId };
  }

  it('refuses a timestamp more than 5 minutes in the future, as in the past', async () => {
    const { body } = await commandBody('balance');
    // Offsets from the moment each request is signed; 30 s of slack in the future one, so a slow
    // machine taking seconds to check it does not bring it back inside the window.
    for (const offset of [3600, 330, -301]) {
      const timestamp = Math.floor(Date.now() / 1000) + offset;
      const res = await call(h.base, 'POST', '/slack/events', { headers: signed(body, timestamp), body });
      expect({ offset, status: res.status }).toEqual({ offset, status: 401 });
    }
    const now = Math.floor(Date.now() / 1000);
    const res = await call(h.base, 'POST', '/slack/events', { headers: signed(body, now + 60), body });
    expect(res.status).toBe(200);
  });

  it('refuses the same signed request a second time, and runs it once', async () => {
    const { body, responseId } = await commandBody('balance');
    const headers = signed(body, Math.floor(Date.now() / 1000));
    const first = await call(h.base, 'POST', '/slack/events', { headers, body });
    expect(first.status).toBe(200);
    await h.slack.waitForResponse(responseId);
    const replay = await call(h.base, 'POST', '/slack/events', { headers, body });
    expect(replay.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(h.slack.responses(responseId)).toHaveLength(1);
  });

  it('acknowledges a retry Slack sends without running it again', async () => {
    const { body, responseId } = await commandBody('balance');
    const retry = await call(h.base, 'POST', '/slack/events', {
      headers: {
        ...signed(body, Math.floor(Date.now() / 1000)),
        'x-slack-retry-num': '1',
        'x-slack-retry-reason': 'http_timeout',
      },
      body,
    });
    expect(retry.status).toBe(200);
    expect(retry.headers.get('x-slack-no-retry')).toBe('1');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(h.slack.responses(responseId)).toHaveLength(0);
  });

  it('refuses a wrong signature', async () => {
    const { body } = await commandBody('balance');
    const headers = {
      ...signed(body, Math.floor(Date.now() / 1000)),
      'x-slack-signature': `v0=${'0'.repeat(64)}`,
    };
    expect((await call(h.base, 'POST', '/slack/events', { headers, body })).status).toBe(401);
  });
});

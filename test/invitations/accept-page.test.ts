import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountInvitationPages } from '../../src/http/invitations.routes.ts';
import { InvitationService } from '../../src/invitations/invitation.service.ts';
import { launchChromium } from '../helpers/browser.ts';
import { invitationLinkToken } from '../helpers/invitation-link.ts';
import { memberOfKey, seedTeam } from '../helpers/services.ts';
import { useWorkerHarness } from '../helpers/worker-harness.ts';
import { silentLogger } from '../helpers/workers.ts';

const h = useWorkerHarness({ workers: false });
let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  mountInvitationPages(app, { services: h.services, logger: silentLogger });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

async function invite(options: { role?: 'admin' | 'user'; service?: InvitationService } = {}) {
  const seeded = await seedTeam(h.services);
  const service = options.service ?? h.services.invitations;
  const email = `invitee-${Math.random().toString(36).slice(2)}@example.com`;
  const invitation = await service.invite(seeded.admin.actor, { email, role: options.role ?? 'user' });
  // The link is derived with the secret of the service that made the invitation.
  const token = await invitationLinkToken({ invitations: service }, invitation.id);
  return { seeded, invitation, token, url: `${base}/invitations/${token}` };
}

function post(url: string, fields: Record<string, string>) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
  });
}

async function memberState(memberId: number) {
  const { rows } = await h.sql.query<{ status: string; name: string; api_key_hash: string | null }>(
    'select status, name, api_key_hash from members where id = $1',
    [memberId],
  );
  return rows[0]!;
}

function apiKeyIn(html: string): string | undefined {
  return /<p class="key" id="api-key">([^<]+)<\/p>/.exec(html)?.[1];
}

describe('accept page over HTTP', () => {
  it('shows who invites you to what, and changes nothing by being opened', async () => {
    const { seeded, invitation, url } = await invite({ role: 'admin' });
    const res = await fetch(url);
    const page = await res.text();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(page).toContain(
      `<strong>Adam Admin</strong> invites you to join <strong>${seeded.team.name}</strong>`,
    );
    expect(page).toContain('as\nan admin');
    expect(page).toContain('<form method="post">');
    expect(page).not.toContain('<script');
    expect((await memberState(invitation.memberId)).status).toBe('invited');
  });

  it('accepting with a display name activates the member and shows its API key once', async () => {
    const { invitation, url } = await invite();
    const res = await post(url, { action: 'accept', name: 'Nina New' });
    const page = await res.text();
    expect(res.status).toBe(200);
    const key = apiKeyIn(page);
    expect(key).toBeDefined();
    expect(page).toContain('shown only once');
    const member = await memberOfKey(h.services, key!);
    expect(member).toMatchObject({ id: invitation.memberId, name: 'Nina New', status: 'active' });

    // The same link again: a clear page, no second key, the first key still works.
    const again = await post(url, { action: 'accept', name: 'Someone Else' });
    const againPage = await again.text();
    expect(again.status).toBe(410);
    expect(againPage).toContain('This invitation has already been used');
    expect(apiKeyIn(againPage)).toBeUndefined();
    expect(await memberState(invitation.memberId)).toMatchObject({ status: 'active', name: 'Nina New' });
    expect((await h.services.members.authenticateApiKey(key!)).id).toBe(invitation.memberId);
    expect((await fetch(url)).status).toBe(410);
  });

  it('asks again, on the field, for a missing display name', async () => {
    const { invitation, url } = await invite();
    const res = await post(url, { action: 'accept', name: '   ' });
    const page = await res.text();
    expect(res.status).toBe(422);
    expect(page).toContain('aria-invalid="true"');
    expect(page).toMatch(/<p class="error" id="name-error">[^<]*name[^<]*<\/p>/);
    expect((await memberState(invitation.memberId)).status).toBe('invited');
  });

  it('a revoked invitation gets a clear page, and accepting it changes nothing', async () => {
    const { seeded, invitation, url } = await invite();
    await h.services.invitations.revoke(seeded.admin.actor, { id: invitation.id });
    const view = await fetch(url);
    expect(view.status).toBe(410);
    expect(await view.text()).toContain('This invitation was withdrawn');
    const res = await post(url, { action: 'accept', name: 'Too Late' });
    expect(res.status).toBe(410);
    const page = await res.text();
    expect(page).toContain('This invitation was withdrawn');
    expect(page).toContain('Nothing was changed');
    expect(await memberState(invitation.memberId)).toMatchObject({ status: 'closed', api_key_hash: null });
  });

  it('an expired invitation gets a clear page, and accepting it changes nothing', async () => {
    const eightDaysAgo = new Date(Date.now() - 8 * 24 * 3600_000);
    const past = new InvitationService(h.orm, () => eightDaysAgo);
    const { invitation, url } = await invite({ service: past });
    const view = await fetch(url);
    expect(view.status).toBe(410);
    expect(await view.text()).toContain('This invitation has expired');
    const res = await post(url, { action: 'accept', name: 'Late Larry' });
    expect(res.status).toBe(410);
    expect(await res.text()).toContain('This invitation has expired');
    const member = await memberState(invitation.memberId);
    expect(member.api_key_hash).toBeNull();
    expect(member.status).not.toBe('active');
  });

  it('declining ends the invitation; an unknown link says it is not valid', async () => {
    const { invitation, url } = await invite();
    const res = await post(url, { action: 'decline' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('You declined the invitation');
    expect((await memberState(invitation.memberId)).status).toBe('closed');
    const unknown = await fetch(`${base}/invitations/not-a-real-token-at-all`);
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('This invitation link is not valid');
  });
});

describe('accept page in headless Chromium', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('works with JavaScript turned off: fill in a name, accept, read the key', async () => {
    const { seeded, invitation, url } = await invite();
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(url);
    expect(await page.locator('h1').textContent()).toBe(`Join ${seeded.team.name}`);
    await page.getByLabel('Your display name').fill('Chris Chromium');
    await Promise.all([
      page.waitForURL(url),
      page.getByRole('button', { name: 'Accept and get my API key' }).click(),
    ]);
    expect(await page.locator('h1').textContent()).toBe(`Welcome to ${seeded.team.name}, Chris Chromium`);
    const key = (await page.locator('#api-key').textContent())!.trim();
    expect((await h.services.members.authenticateApiKey(key)).id).toBe(invitation.memberId);

    // Back and submit again: the page says it was used; nothing changes.
    await page.goto(url);
    expect(await page.locator('h1').textContent()).toBe('This invitation has already been used');
    await context.close();
  });

  it('the browser refuses an empty name before anything is sent', async () => {
    const { invitation, url } = await invite();
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(url);
    await page.getByRole('button', { name: 'Accept and get my API key' }).click();
    expect(await page.locator('h1').textContent()).toMatch(/^Join /);
    expect(
      await page
        .locator('#name')
        .evaluate((el) => (el as unknown as { validity: { valueMissing: boolean } }).validity.valueMissing),
    ).toBe(true);
    expect((await memberState(invitation.memberId)).status).toBe('invited');
    await context.close();
  });
});

import { expect } from 'vitest';
import type { FakeSlack, FakeWorkspace } from '../helpers/fake-slack.ts';

/** The deployment's PUBLIC_URL in the multi-workspace tests; the browser reaches it at the test server. */
export const PUBLIC_URL = 'https://teamops.test';

/** A browser: keeps the cookies the product sets, and reaches PUBLIC_URL at the test server (`base`). */
export class Browser {
  readonly cookies = new Map<string, string>();
  readonly base: string;

  constructor(base: string) {
    this.base = base;
  }

  async get(url: string): Promise<Response> {
    const target = new URL(url.replace(PUBLIC_URL, this.base));
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(target, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [name, value] = pair!.split('=');
      if (/Expires=Thu, 01 Jan 1970/.test(line)) this.cookies.delete(name!);
      else this.cookies.set(name!, value!);
    }
    return response;
  }
}

export interface InstallStart {
  browser: Browser;
  authorizeUrl: URL;
  page: string;
}

/** Opens /slack/install and reads the "Add to Slack" link. */
export async function startInstall(browser: Browser): Promise<InstallStart> {
  const response = await browser.get(`${PUBLIC_URL}/slack/install`);
  expect(response.status).toBe(200);
  const page = await response.text();
  const href = /id="add-to-slack" href="([^"]+)"/.exec(page)?.[1];
  expect(href).toBeDefined();
  const decoded = href!.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
  return { browser, authorizeUrl: new URL(decoded.replaceAll('&amp;', '&')), page };
}

/** The installer clicks "Add to Slack", then "Allow"; Slack sends the browser back to the product. */
export async function install(
  fakeSlack: FakeSlack,
  base: string,
  workspace: FakeWorkspace,
): Promise<{ page: string; redirect: string; browser: Browser }> {
  const { browser, authorizeUrl } = await startInstall(new Browser(base));
  fakeSlack.approveInstall(workspace);
  const atSlack = await browser.get(authorizeUrl.toString());
  expect(atSlack.status, await atSlack.clone().text()).toBe(302);
  const redirect = atSlack.headers.get('location')!;
  const back = await browser.get(redirect);
  const page = await back.text();
  expect(back.status, page).toBe(200);
  return { page, redirect, browser };
}

import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { dispatchJob } from '../../src/jobs/jobs.ts';
import * as metrics from '../../src/platform/metrics.ts';
import { queryOne } from '../../src/platform/sql.ts';
import type { Runtime } from '../../src/runtime.ts';
import { TokenCipher } from '../../src/shared/token-crypto.ts';
import { SLACK_EVENTS_PATH } from '../../src/slack/index.ts';
import { SlackInstallationStore } from '../../src/slack/oauth/installation-store.ts';
import { BOT_SCOPES } from '../../src/slack/oauth/scopes.ts';
import type { TestDatabase } from '../helpers/database.ts';
import { connectTestOrm } from '../helpers/database.ts';
import type { FakeSlack, FakeWorkspace, SlackCall } from '../helpers/fake-slack.ts';
import { SlackRequests } from '../helpers/slack-requests.ts';
import { eventually, sleep } from '../helpers/workers.ts';
import {
  Browser,
  CLIENT,
  install as installIn,
  PUBLIC_URL,
  SIGNING_SECRET,
  startInstall as startInstallIn,
  TOKEN_KEY,
  useMultiWorkspaceProduct,
} from './multi-workspace-harness.ts';

/**
 * One deployment in multi-workspace mode (web and workers in one process, queues on
 * PostgreSQL so that every job is in the database too), installed into two workspaces through
 * the real /slack/install → Slack's authorize page (the fake's) → /slack/oauth_redirect flow.
 */

const alpha: FakeWorkspace = { teamId: 'TALPHA', teamName: 'Alpha Corp', installerUserId: 'UALPHA1' };
const beta: FakeWorkspace = { teamId: 'TBETA', teamName: 'Beta Ltd', installerUserId: 'UBETA1' };

// Everything the product logs, at the most detailed level, to look for tokens in.
const logLines: string[] = [];
const sink = new Writable({
  write(chunk, _encoding, done) {
    logLines.push(String(chunk));
    done();
  },
});
const product = useMultiWorkspaceProduct({
  logger: pino({ level: 'trace' }, sink),
  beforeStart: async (slack) => {
    slack.setUser('UALPHA1', { name: 'Ann Alpha', email: 'ann@alpha.test' });
    slack.setUser('UBETA1', { name: 'Ben Beta', email: 'ben@beta.test' });
  },
});
let db: TestDatabase;
let fakeSlack: FakeSlack;
let runtime: Runtime;
let base: string;
beforeAll(() => {
  ({ db, fakeSlack, runtime, base } = product);
});

const install = (workspace: FakeWorkspace) => installIn(fakeSlack, base, workspace);
const startInstall = (browser = new Browser(base)) => startInstallIn(browser);

function slackFor(workspace: FakeWorkspace): SlackRequests {
  return new SlackRequests({
    endpoint: `${base}${SLACK_EVENTS_PATH}`,
    signingSecret: SIGNING_SECRET,
    teamId: workspace.teamId,
    fakeSlack: { responseUrl: (id) => fakeSlack.responseUrl(id), botUserId: `UBOT${workspace.teamId}` },
  });
}

/** The workspace a Web API call's token was issued to, as the fake Slack knows it. */
function workspaceOf(call: SlackCall): string | undefined {
  return call.token ? fakeSlack.tokens.get(call.token)?.workspace.teamId : undefined;
}

const webApiCalls = (calls: SlackCall[]) =>
  calls.filter((call) => !['response_url', 'oauth.v2.access', 'oauth/v2/authorize'].includes(call.method));

async function teamIdOf(workspace: FakeWorkspace): Promise<number> {
  const row = await queryOne<{ id: number }>(
    runtime.deps.orm.em.fork(),
    'select id from teams where slack_team_id = ?',
    [workspace.teamId],
  );
  return row!.id;
}

let betaKey: string;

describe('installing into many workspaces', () => {
  it('offers "Add to Slack" with every bot scope of the manifest and a state bound to the browser', async () => {
    const { browser, authorizeUrl } = await startInstall();
    expect(authorizeUrl.origin + authorizeUrl.pathname).toBe(
      new URL('../oauth/v2/authorize', fakeSlack.apiUrl).toString(),
    );
    expect(authorizeUrl.searchParams.get('scope')!.split(',').sort()).toEqual([...BOT_SCOPES].sort());
    expect(authorizeUrl.searchParams.get('client_id')).toBe(CLIENT.id);
    expect(authorizeUrl.searchParams.get('redirect_uri')).toBe(`${PUBLIC_URL}/slack/oauth_redirect`);
    expect(browser.cookies.get('slack-app-oauth-state')).toBe(authorizeUrl.searchParams.get('state'));
  });

  it('installs two workspaces through the browser and says what to do next', async () => {
    for (const workspace of [alpha, beta]) {
      const { page } = await install(workspace);
      expect(page).toContain(`teamops is installed in ${workspace.teamName}`);
      expect(page).toContain('/team setup');
    }
    const exchanges = fakeSlack.callsTo('oauth.v2.access');
    expect(exchanges).toHaveLength(2);
    for (const exchange of exchanges) {
      expect(exchange.args.client_id).toBe(CLIENT.id);
      expect(exchange.args.redirect_uri).toBe(`${PUBLIC_URL}/slack/oauth_redirect`);
    }
    const stored = await runtime.deps.orm.em
      .fork()
      .getConnection()
      .execute(
        'select install_key, bot_user_id, bot_scopes, installer_user_id from slack_installations order by id',
      );
    expect(stored).toEqual([
      {
        install_key: 'team:TALPHA',
        bot_user_id: 'UBOTTALPHA',
        bot_scopes: BOT_SCOPES.join(','),
        installer_user_id: 'UALPHA1',
      },
      {
        install_key: 'team:TBETA',
        bot_user_id: 'UBOTTBETA',
        bot_scopes: BOT_SCOPES.join(','),
        installer_user_id: 'UBETA1',
      },
    ]);
  });

  it("runs each workspace's commands for its own team, with that workspace's token", async () => {
    for (const [workspace, name, user] of [
      [alpha, 'Alpha', 'UALPHA1'],
      [beta, 'Beta', 'UBETA1'],
    ] as const) {
      fakeSlack.clear();
      const slack = slackFor(workspace);
      const setup = await slack.command(user, `setup ${name} EUR`);
      expect(setup.status).toBe(200);
      const reply = await fakeSlack.waitForResponse(setup.responseId);
      expect(JSON.stringify(reply.args)).toContain(name);
      const key = /tok_[A-Za-z0-9_-]{32}/.exec(JSON.stringify(reply.args.blocks))?.[0];
      expect(key).toBeDefined();
      if (workspace === beta) betaKey = key!;
      await fakeSlack.waitFor('views.publish');
      const balance = await slack.command(user, 'balance');
      expect(JSON.stringify((await fakeSlack.waitForResponse(balance.responseId)).args)).toContain(name);
      const calls = webApiCalls(fakeSlack.calls);
      expect(calls.map((call) => call.method)).toEqual(
        expect.arrayContaining(['users.info', 'views.publish']),
      );
      expect(calls.map(workspaceOf)).toEqual(calls.map(() => workspace.teamId));
    }
    const teams = await runtime.deps.orm.em
      .fork()
      .getConnection()
      .execute('select name, slack_team_id from teams order by id');
    expect(teams).toEqual([
      { name: 'Alpha', slack_team_id: 'TALPHA' },
      { name: 'Beta', slack_team_id: 'TBETA' },
    ]);
  });

  it("posts every worker job with the token of the team's workspace", async () => {
    fakeSlack.clear();
    // An invitation DM goes request → outbox → relay → invitation.send → invitation.slack_dm.
    await slackFor(alpha).command('UALPHA1', 'invite <@UALPHA2> user');
    await slackFor(beta).command('UBETA1', 'invite <@UBETA2> user');
    // Alerts and digests are slack.post jobs naming their team.
    for (const workspace of [alpha, beta]) {
      await dispatchJob(
        runtime.deps.queues,
        'slack.post',
        {
          teamId: await teamIdOf(workspace),
          channel: `C${workspace.teamId}`,
          text: `digest for ${workspace.teamName}`,
        },
        { dedupKey: `digest-${workspace.teamId}` },
      );
    }
    const dm = (user: string) => fakeSlack.waitFor('chat.postMessage', (call) => call.args.channel === user);
    const post = (workspace: FakeWorkspace) =>
      fakeSlack.waitFor('chat.postMessage', (call) => call.args.channel === `C${workspace.teamId}`);
    expect(workspaceOf(await dm('UALPHA2'))).toBe('TALPHA');
    expect(workspaceOf(await dm('UBETA2'))).toBe('TBETA');
    expect(workspaceOf(await post(alpha))).toBe('TALPHA');
    expect(workspaceOf(await post(beta))).toBe('TBETA');
    const jobs = await runtime.deps.orm.em
      .fork()
      .getConnection()
      .execute(`select payload::text as payload from outbox order by id`);
    for (const row of jobs as { payload: string }[]) expect(row.payload).not.toMatch(/xox[bpe]-/);
  });
});

describe('the OAuth state', () => {
  it('refuses a state used once already, and exchanges no code for it', async () => {
    const { redirect, browser } = await install({ ...alpha });
    const exchanges = fakeSlack.callsTo('oauth.v2.access').length;
    const state = new URL(redirect).searchParams.get('state')!;
    browser.cookies.set('slack-app-oauth-state', state);
    const again = await browser.get(redirect);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('already used');
    expect(fakeSlack.callsTo('oauth.v2.access')).toHaveLength(exchanges);
  });

  it('refuses a forged state and a state from another browser, and exchanges no code', async () => {
    const exchanges = fakeSlack.callsTo('oauth.v2.access').length;
    const forger = new Browser(base);
    forger.cookies.set('slack-app-oauth-state', 'forged.c2lnbmF0dXJl');
    const forged = await forger.get(
      `${PUBLIC_URL}/slack/oauth_redirect?code=code-x&state=forged.c2lnbmF0dXJl`,
    );
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain('not valid');

    const { authorizeUrl, browser } = await startInstall();
    const state = authorizeUrl.searchParams.get('state')!;
    const elsewhere = await new Browser(base).get(
      `${PUBLIC_URL}/slack/oauth_redirect?code=code-y&state=${state}`,
    );
    expect(elsewhere.status).toBe(400);
    expect(await elsewhere.text()).toContain('different browser');
    // The browser that started still can: the state was not spent by the refused attempt.
    fakeSlack.approveInstall({ ...beta });
    const back = await browser.get((await browser.get(authorizeUrl.toString())).headers.get('location')!);
    expect(back.status).toBe(200);
    expect(fakeSlack.callsTo('oauth.v2.access')).toHaveLength(exchanges + 1);
  });

  it('says so when the installer cancels in Slack', async () => {
    const { authorizeUrl, browser } = await startInstall();
    const state = authorizeUrl.searchParams.get('state')!;
    const cancelled = await browser.get(
      `${PUBLIC_URL}/slack/oauth_redirect?error=access_denied&state=${state}`,
    );
    expect(cancelled.status).toBe(400);
    expect(await cancelled.text()).toContain('cancelled');
  });
});

describe('tokens at rest', () => {
  it('keeps no token in clear in the database (tables and queued jobs) or in the logs', async () => {
    const issued = [...fakeSlack.tokens.keys()];
    expect(issued.length).toBeGreaterThanOrEqual(2);
    const { stdout: dump } = await promisify(execFile)('pg_dump', ['--no-owner', db.url], {
      maxBuffer: 256 * 1024 * 1024,
    });
    expect(dump).toContain('slack_installations');
    const logs = logLines.join('');
    expect(logs).toContain('Slack app installed in Alpha Corp');
    for (const token of issued) {
      expect(dump).not.toContain(token);
      expect(logs).not.toContain(token);
    }
    const sealed = await queryOne<{ bot_token_sealed: string; bot_token_key_id: string }>(
      runtime.deps.orm.em.fork(),
      `select bot_token_sealed, bot_token_key_id from slack_installations where install_key = 'team:TALPHA'`,
    );
    const cipher = new TokenCipher({ current: TOKEN_KEY, old: [] });
    expect(sealed!.bot_token_key_id).toBe(cipher.currentKeyId);
    expect(issued).toContain(
      cipher.open(
        { ciphertext: sealed!.bot_token_sealed, keyId: sealed!.bot_token_key_id },
        'slack-bot-token',
      ),
    );
  });
});

describe('rotating TOKEN_ENCRYPTION_KEY', () => {
  it('seals every stored token again with the new key; the old key is then no longer needed', async () => {
    const newKey = Buffer.alloc(32, 9).toString('base64');
    const orm = await connectTestOrm(db.url, pino({ level: 'silent' }));
    const storeWith = (current: string, old: string[]) =>
      new SlackInstallationStore(orm, {
        oauth: { clientId: CLIENT.id, clientSecret: CLIENT.secret },
        apiUrl: fakeSlack.apiUrl,
        cipher: new TokenCipher({ current, old }),
        logger: pino({ level: 'silent' }),
      });
    try {
      const before = (await storeWith(TOKEN_KEY, []).botFor({ teamId: 'TALPHA' }))!.token;
      const rotating = storeWith(newKey, [TOKEN_KEY]);
      expect((await rotating.botFor({ teamId: 'TALPHA' }))!.token).toBe(before);
      expect(await rotating.resealAll()).toBeGreaterThanOrEqual(2);
      expect(await rotating.resealAll()).toBe(0);
      const keyIds = await orm.em
        .fork()
        .getConnection()
        .execute(
          'select distinct bot_token_key_id from slack_installations where bot_token_key_id is not null',
        );
      expect(keyIds).toEqual([
        { bot_token_key_id: new TokenCipher({ current: newKey, old: [] }).currentKeyId },
      ]);
      expect((await storeWith(newKey, []).botFor({ teamId: 'TALPHA' }))!.token).toBe(before);
      // Back to the key the running product uses, for the tests that follow.
      expect(await storeWith(TOKEN_KEY, [newKey]).resealAll()).toBeGreaterThanOrEqual(2);
    } finally {
      await orm.close(true);
    }
  });
});

describe('Enterprise Grid', () => {
  it("serves an org-wide installation's workspaces, and finds its token for a workspace's team", async () => {
    const store = new SlackInstallationStore(runtime.deps.orm, {
      oauth: { clientId: CLIENT.id, clientSecret: CLIENT.secret },
      apiUrl: fakeSlack.apiUrl,
      cipher: new TokenCipher({ current: TOKEN_KEY, old: [] }),
      logger: pino({ level: 'silent' }),
    });
    await store.storeInstallation({
      team: undefined,
      enterprise: { id: 'EORG', name: 'Org Inc' },
      user: { id: 'UORGADMIN', token: undefined, scopes: undefined },
      bot: { token: 'xoxb-org-wide', scopes: [...BOT_SCOPES], id: 'BORG', userId: 'UBOTORG' },
      isEnterpriseInstall: true,
      authVersion: 'v2',
    });
    // A request from a workspace of the org (Bolt's authorize source).
    const forRequest = await store.botFor({
      teamId: 'TORGWS1',
      enterpriseId: 'EORG',
      isEnterpriseInstall: true,
    });
    expect(forRequest).toMatchObject({ token: 'xoxb-org-wide', teamId: 'TORGWS1', enterpriseId: 'EORG' });
    // A worker knows only the team's workspace: the org's token, through the workspaces it served.
    expect((await store.botFor({ teamId: 'TORGWS1' }))?.token).toBe('xoxb-org-wide');
    expect(await store.botFor({ teamId: 'TNOTSERVED' })).toBeUndefined();
    await store.uninstall({ enterpriseId: 'EORG', isEnterpriseInstall: true });
    expect(await store.botFor({ teamId: 'TORGWS1' })).toBeUndefined();
  });
});

describe('token rotation', () => {
  const gamma: FakeWorkspace = {
    teamId: 'TGAMMA',
    teamName: 'Gamma Inc',
    installerUserId: 'UGAMMA1',
    // Issued tokens expire within the refresh margin: the first use refreshes.
    expiresInS: 120,
  };

  it('refreshes a token before it expires, once for many requests across processes, and a restart reuses it', async () => {
    await install(gamma);
    gamma.expiresInS = 12 * 3600;
    const installToken = [...fakeSlack.tokens].find(([, t]) => t.workspace === gamma)![0];
    const store = async () => {
      const orm = await connectTestOrm(db.url, pino({ level: 'silent' }));
      return {
        orm,
        store: new SlackInstallationStore(orm, {
          oauth: { clientId: CLIENT.id, clientSecret: CLIENT.secret },
          apiUrl: fakeSlack.apiUrl,
          cipher: new TokenCipher({ current: TOKEN_KEY, old: [] }),
          logger: pino({ level: 'silent' }),
        }),
      };
    };
    // Two processes, ten requests each, at once.
    const processes = [await store(), await store()];
    try {
      const refreshesBefore = fakeSlack
        .callsTo('oauth.v2.access')
        .filter((c) => c.args.grant_type === 'refresh_token');
      const tokens = await Promise.all(
        processes.flatMap(({ store: s }) => Array.from({ length: 10 }, () => s.botFor({ teamId: 'TGAMMA' }))),
      );
      const refreshes = fakeSlack
        .callsTo('oauth.v2.access')
        .filter((c) => c.args.grant_type === 'refresh_token');
      expect(refreshes.length - refreshesBefore.length).toBe(1);
      const fresh = new Set(tokens.map((bot) => bot!.token));
      expect(fresh.size).toBe(1);
      expect([...fresh][0]).not.toBe(installToken);

      // A restart: a new process reads the stored token and refreshes nothing.
      const restarted = await store();
      processes.push(restarted);
      expect((await restarted.store.botFor({ teamId: 'TGAMMA' }))!.token).toBe([...fresh][0]);
      expect(
        fakeSlack.callsTo('oauth.v2.access').filter((c) => c.args.grant_type === 'refresh_token'),
      ).toHaveLength(refreshes.length);

      // And the running product's listeners use the refreshed token.
      fakeSlack.clear();
      const setup = await slackFor(gamma).command('UGAMMA1', 'setup Gamma EUR');
      await fakeSlack.waitForResponse(setup.responseId);
      const calls = webApiCalls(fakeSlack.calls);
      expect(calls.length).toBeGreaterThan(0);
      for (const call of calls) expect(call.token).toBe([...fresh][0]);
    } finally {
      for (const { orm } of processes) await orm.close(true);
    }
  });
});

describe('uninstalling', () => {
  it('pauses Slack for the workspace, keeps its team and API keys, and resumes on reinstall', async () => {
    const betaTeam = await teamIdOf(beta);
    const uninstalled = await slackFor(beta).event({ type: 'app_uninstalled' });
    expect(uninstalled.status).toBe(200);
    fakeSlack.revokeTokens('TBETA');
    await eventually(async () => {
      const row = await queryOne<{ uninstalled_at: Date | null; bot_token_sealed: string | null }>(
        runtime.deps.orm.em.fork(),
        `select uninstalled_at, bot_token_sealed from slack_installations where install_key = 'team:TBETA'`,
      );
      return row?.uninstalled_at !== null && row?.bot_token_sealed === null;
    });

    fakeSlack.clear();
    await dispatchJob(
      runtime.deps.queues,
      'slack.post',
      { teamId: betaTeam, channel: 'CBETA-PAUSED', text: 'while uninstalled' },
      { dedupKey: 'beta-paused' },
    );
    // A post for the other workspace, queued after it, shows the queue got past the paused one.
    await dispatchJob(
      runtime.deps.queues,
      'slack.post',
      { teamId: await teamIdOf(alpha), channel: 'CALPHA-AFTER', text: 'still here' },
      { dedupKey: 'alpha-after' },
    );
    await fakeSlack.waitFor('chat.postMessage', (call) => call.args.channel === 'CALPHA-AFTER');
    await sleep(300);
    expect(
      fakeSlack.callsTo('chat.postMessage').filter((call) => call.args.channel === 'CBETA-PAUSED'),
    ).toEqual([]);
    const counts = await runtime.deps.queues.counts('slack');
    expect(counts.failed).toBe(0);
    expect((counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.active ?? 0)).toBe(0);

    // The team's data and API keys stay.
    const api = await fetch(`${base}/api/v1/team`, { headers: { authorization: `Bearer ${betaKey}` } });
    expect(api.status).toBe(200);
    expect(JSON.stringify(await api.json())).toContain('Beta');

    const { page } = await install(beta);
    expect(page).toContain('teamops is installed in Beta Ltd');
    await dispatchJob(
      runtime.deps.queues,
      'slack.post',
      { teamId: betaTeam, channel: 'CBETA-BACK', text: 'reinstalled' },
      { dedupKey: 'beta-back' },
    );
    const back = await fakeSlack.waitFor('chat.postMessage', (call) => call.args.channel === 'CBETA-BACK');
    expect(workspaceOf(back)).toBe('TBETA');
    expect(fakeSlack.tokens.get(back.token!)!.revoked).toBe(false);
    const balance = await slackFor(beta).command('UBETA1', 'balance');
    expect(JSON.stringify((await fakeSlack.waitForResponse(balance.responseId)).args)).toContain('Beta');
  });
});

describe('Slack rate limits', () => {
  it("holds back only the posts of the workspace that answered 429; the other's keep flowing", {
    timeout: 60_000,
  }, async () => {
    const alphaToken = [...fakeSlack.tokens]
      .filter(([, t]) => t.workspace.teamId === 'TALPHA' && !t.revoked)
      .at(-1)![0];
    // Alpha is held for Retry-After = 20 s. A hold of the whole queue (as before) would keep
    // beta's posts back that long too; held per workspace, they go at once.
    const retryAfterS = 20;
    fakeSlack.throttle(alphaToken, Date.now() + retryAfterS * 1000, retryAfterS);
    fakeSlack.clear();
    const slackJobRuns = async (outcome: string) =>
      (await metrics.jobs.get()).values.find(
        (value) => value.labels.queue === 'slack' && value.labels.outcome === outcome,
      )?.value ?? 0;
    const [rateLimitedBefore, retriedBefore] = [
      await slackJobRuns('rate_limited'),
      await slackJobRuns('retried'),
    ];
    const [alphaTeam, betaTeam] = [await teamIdOf(alpha), await teamIdOf(beta)];
    for (let n = 0; n < 4; n += 1) {
      for (const [teamId, channel] of [
        [alphaTeam, 'CALPHA-429'],
        [betaTeam, 'CBETA-OK'],
      ] as const) {
        await dispatchJob(
          runtime.deps.queues,
          'slack.post',
          { teamId, channel, text: `post ${n}` },
          { dedupKey: `rl-${channel}-${n}` },
        );
      }
    }
    const delivered = (channel: string) =>
      fakeSlack.calls.filter((call) => call.args.channel === channel && call.response?.ok === true);
    await eventually(() => delivered('CBETA-OK').length === 4, {
      timeoutMs: (retryAfterS - 3) * 1000,
      message: "the other workspace's posts, before alpha's hold ends",
    });
    expect(delivered('CALPHA-429')).toHaveLength(0);
    // One 429: alpha's other posts waited for their slot after the hold instead of trying.
    const limited = fakeSlack.calls.filter((call) => call.response?.error === 'ratelimited');
    expect(limited).toHaveLength(1);
    expect(workspaceOf(limited[0]!)).toBe('TALPHA');
    await eventually(() => delivered('CALPHA-429').length === 4, {
      timeoutMs: (retryAfterS + 20) * 1000,
      message: "the limited workspace's posts, after its hold",
    });
    for (const call of delivered('CALPHA-429')) expect(workspaceOf(call)).toBe('TALPHA');
    expect((await runtime.deps.queues.counts('slack')).failed).toBe(0);
    // On /metrics the held posts count as rate limited, not as failures to retry.
    expect(await slackJobRuns('rate_limited')).toBeGreaterThanOrEqual(rateLimitedBefore + 4);
    expect(await slackJobRuns('retried')).toBe(retriedBefore);
  });
});

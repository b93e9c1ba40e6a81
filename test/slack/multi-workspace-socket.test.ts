import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { type Runtime, startRuntime } from '../../src/runtime.ts';
import { SLACK_EVENTS_PATH } from '../../src/slack/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { type FakeSlack, type FakeWorkspace, startFakeSlack } from '../helpers/fake-slack.ts';
import { FakeSocketMode } from '../helpers/fake-socket-mode.ts';
import { SlackRequests } from '../helpers/slack-requests.ts';
import { eventually, uniquePrefix } from '../workers/helpers.ts';
import { APP_TOKEN } from './harness.ts';
import { install, PUBLIC_URL } from './oauth-browser.ts';

/** Multi-workspace mode over Socket Mode: installs still go through the browser, events come over the socket. */

const delta: FakeWorkspace = { teamId: 'TDELTA', teamName: 'Delta Co', installerUserId: 'UDELTA1' };

let db: TestDatabase;
let fakeSlack: FakeSlack;
let socketMode: FakeSocketMode;
let runtime: Runtime;
let base: string;

beforeAll(async () => {
  db = await createTestDatabase();
  fakeSlack = await startFakeSlack();
  socketMode = await FakeSocketMode.start(fakeSlack);
  fakeSlack.setUser('UDELTA1', { name: 'Dee Delta', email: 'dee@delta.test' });
  const config = loadConfig({
    PORT: '0',
    DATABASE_URL: db.url,
    QUEUE_PREFIX: uniquePrefix('multi-socket'),
    PUBLIC_URL,
    SLACK_SIGNING_SECRET: 'socket-signing-secret',
    SLACK_APP_TOKEN: APP_TOKEN,
    SLACK_CLIENT_ID: '3333.4444',
    SLACK_CLIENT_SECRET: 'client-secret-socket',
    SLACK_STATE_SECRET: 'state-secret-for-the-socket-test',
    TOKEN_ENCRYPTION_KEY: Buffer.alloc(32, 3).toString('base64'),
    SLACK_API_URL: fakeSlack.apiUrl,
  });
  runtime = await startRuntime(config, pino({ level: 'silent' }), { web: true, worker: false });
  base = `http://127.0.0.1:${(runtime.server!.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await runtime?.stop();
  await socketMode?.close();
  await fakeSlack?.close();
  await db?.drop();
});

describe('multi-workspace mode over Socket Mode', () => {
  it("installs through the browser, runs the workspace's commands with its token, and pauses on app_uninstalled", async () => {
    // The socket opens with the app-level token; there is no /slack/events route to post to.
    expect(fakeSlack.callsTo('apps.connections.open')[0]?.token).toBe(APP_TOKEN);
    expect((await fetch(`${base}${SLACK_EVENTS_PATH}`, { method: 'POST' })).status).toBe(404);

    const { page } = await install(fakeSlack, base, delta);
    expect(page).toContain('teamops is installed in Delta Co');
    const token = [...fakeSlack.tokens].find(([, t]) => t.workspace === delta)![0];

    const slack = new SlackRequests({
      endpoint: 'unused: Socket Mode',
      signingSecret: 'unused',
      teamId: delta.teamId,
      fakeSlack: { responseUrl: (id) => fakeSlack.responseUrl(id), botUserId: 'UBOTTDELTA' },
    });
    fakeSlack.clear();
    const { fields, responseId } = slack.commandPayload('UDELTA1', 'setup Delta EUR');
    await socketMode.slashCommand(fields);
    expect(JSON.stringify((await fakeSlack.waitForResponse(responseId)).args)).toContain('Delta');
    await fakeSlack.waitFor('views.publish');
    const calls = fakeSlack.calls.filter((call) => call.method !== 'response_url');
    expect(calls.map((call) => call.method)).toEqual(expect.arrayContaining(['users.info', 'views.publish']));
    for (const call of calls) expect(call.token).toBe(token);

    await socketMode.eventsApi(slack.eventPayload({ type: 'app_uninstalled' }));
    await eventually(async () => {
      const rows = (await runtime.deps.orm.em
        .fork()
        .getConnection()
        .execute(`select uninstalled_at from slack_installations where install_key = 'team:TDELTA'`)) as {
        uninstalled_at: Date | null;
      }[];
      return rows[0]?.uninstalled_at != null;
    });
  });
});

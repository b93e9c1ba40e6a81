import { describe, expect, it } from 'vitest';
import { SLACK_EVENTS_PATH } from '../../src/slack/index.ts';
import type { FakeWorkspace } from '../helpers/fake-slack.ts';
import { FakeSocketMode } from '../helpers/fake-socket-mode.ts';
import { SlackRequests } from '../helpers/slack-requests.ts';
import { eventually } from '../helpers/workers.ts';
import { APP_TOKEN } from './harness.ts';
import { install, useMultiWorkspaceProduct } from './multi-workspace-harness.ts';

/** Multi-workspace mode over Socket Mode: installs still go through the browser, events come over the socket. */

const delta: FakeWorkspace = { teamId: 'TDELTA', teamName: 'Delta Co', installerUserId: 'UDELTA1' };

let socketMode: FakeSocketMode;
const product = useMultiWorkspaceProduct({
  env: { SLACK_APP_TOKEN: APP_TOKEN },
  worker: false,
  beforeStart: async (fakeSlack) => {
    socketMode = await FakeSocketMode.start(fakeSlack);
    fakeSlack.setUser('UDELTA1', { name: 'Dee Delta', email: 'dee@delta.test' });
  },
  afterStop: () => socketMode.close(),
});

describe('multi-workspace mode over Socket Mode', () => {
  it("installs through the browser, runs the workspace's commands with its token, and pauses on app_uninstalled and tokens_revoked", async () => {
    const { fakeSlack, base, runtime } = product;
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

    // Installed again, then the bot token revoked: paused the same way.
    await install(fakeSlack, base, delta);
    const installed = async () =>
      (
        (await runtime.deps.orm.em
          .fork()
          .getConnection()
          .execute(`select uninstalled_at from slack_installations where install_key = 'team:TDELTA'`)) as {
          uninstalled_at: Date | null;
        }[]
      )[0]?.uninstalled_at == null;
    expect(await installed()).toBe(true);
    await socketMode.eventsApi(
      slack.eventPayload({ type: 'tokens_revoked', tokens: { oauth: [], bot: ['UBOTTDELTA'] } }),
    );
    await eventually(async () => !(await installed()));
  });
});

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect } from 'vitest';
import * as teamAdminRoutes from '../../src/http/api/team-admin.routes.ts';
import { mountSmsTo } from '../../src/http/compat/smsto.ts';
import { createHttpApp, type HttpDeps } from '../../src/http/server.ts';
import { mountSlack, SLACK_EVENTS_PATH } from '../../src/slack/index.ts';
import { SlackRequests } from '../helpers/slack-requests.ts';
import type { WorkerHarness } from '../helpers/worker-harness.ts';
import { silentLogger } from '../helpers/workers.ts';

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions
type Json = any;

export interface AdminViews {
  /** What `/team invitations`, typed by `slackUserId` in the team's workspace, shows: every text of the reply. */
  slack(slackTeamId: string, slackUserId: string): Promise<string>;
  /** `GET /api/v1/invitations` (pending ones), the `items`. */
  api(apiKey: string): Promise<Json[]>;
  /** The SMS.to-compatible `GET /v1/team/invitations`, the `data`. */
  smsto(apiKey: string): Promise<Json[]>;
}

/**
 * The three places an admin reads invitations — Slack, the native API, the SMS.to-compatible
 * API — on the product's HTTP app over the harness's services, as the runtime composes it.
 * Slack requests are signed and its replies land in the harness's fake Slack.
 */
export function useAdminViews(h: WorkerHarness): AdminViews {
  let server: Server | undefined;
  let base = '';
  const workspaces = new Map<string, SlackRequests>();
  beforeAll(async () => {
    const deps: HttpDeps = {
      config: h.config,
      logger: silentLogger,
      orm: h.orm,
      services: h.services,
      queues: h.queues,
    };
    const app = createHttpApp(deps, {
      apiRoutes: [teamAdminRoutes],
      mounts: [(express) => mountSlack(express, deps), (express) => mountSmsTo(express, deps)],
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  });

  async function get(path: string, apiKey: string): Promise<Json> {
    const response = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(response.status).toBe(200);
    return response.json();
  }

  return {
    async slack(slackTeamId, slackUserId) {
      let requests = workspaces.get(slackTeamId);
      if (!requests) {
        requests = new SlackRequests({
          endpoint: `${base}${SLACK_EVENTS_PATH}`,
          signingSecret: h.config.slack!.signingSecret,
          teamId: slackTeamId,
          // Each workspace numbers its requests from 1: its replies are told apart by the team id.
          fakeSlack: {
            botUserId: h.slack.botUserId,
            responseUrl: (id) => h.slack.responseUrl(`${slackTeamId}-${id}`),
          },
        });
        workspaces.set(slackTeamId, requests);
      }
      const res = await requests.command(slackUserId, 'invitations');
      expect(res.status).toBe(200);
      const reply = await h.slack.waitForResponse(`${slackTeamId}-${res.responseId}`);
      return JSON.stringify([reply.args.text, reply.args.blocks]);
    },
    async api(apiKey) {
      return (await get('/api/v1/invitations', apiKey)).items;
    },
    async smsto(apiKey) {
      const body = await get('/v1/team/invitations', apiKey);
      expect(body.success).toBe(true);
      return body.data;
    },
  };
}

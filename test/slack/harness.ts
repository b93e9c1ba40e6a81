import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { closeServices, createServices, type Services } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import type { MemberView, TeamView } from '../../src/members/views.ts';
import type { Orm } from '../../src/platform/database.ts';
import type { RateLimits } from '../../src/platform/rate-limits.ts';
import { memberActor, operator } from '../../src/shared/actor.ts';
import { mountSlack, SLACK_EVENTS_PATH, type SlackHandle } from '../../src/slack/index.ts';
import { connectTestOrm, createTestDatabase, databaseEnv, type TestDatabase } from '../helpers/database.ts';
import { type FakeSlack, startFakeSlack } from '../helpers/fake-slack.ts';
import { FakeSocketMode } from '../helpers/fake-socket-mode.ts';
import { SlackRequests } from '../helpers/slack-requests.ts';

export const SIGNING_SECRET = 'test-signing-secret';
export const APP_TOKEN = 'xapp-1-A0TEAMOPS-1-test';

export interface SlackHarness {
  db: TestDatabase;
  orm: Orm;
  services: Services;
  fakeSlack: FakeSlack;
  slack: SlackRequests;
  server: Server;
  endpoint: string;
  /** The product's Slack app, as mounted. */
  handle: SlackHandle;
  /** Slack's end of the Socket Mode connection; only with `{ socketMode: true }`. */
  socketMode: FakeSocketMode;
}

/**
 * The product's Slack endpoint on a real HTTP server, over a database of this file's own, with
 * the Web API pointed at a fake Slack that records every call. The fake's record is cleared
 * before each test. With `socketMode`, SLACK_APP_TOKEN is set too: the app connects through the
 * fake's `apps.connections.open` to a FakeSocketMode (`h.socketMode`), and the hooks wait until
 * it is connected; the HTTP server still runs, to show that it does not serve `/slack/events`.
 */
export function useSlackApp(
  slackTeamId = 'T0ACME',
  options: { socketMode?: boolean; rateLimits?: RateLimits } = {},
): SlackHarness {
  const h = {} as SlackHarness;
  let inFlight = 0;
  const idleWaiters: Array<() => void> = [];
  // The listeners' own work, then what they left scheduled (App Home refreshes).
  const idle = async () => {
    if (inFlight > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
    await h.handle?.settled();
  };
  beforeAll(async () => {
    h.db = await createTestDatabase();
    const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');
    h.orm = await connectTestOrm(h.db.url, logger);
    h.services = createServices(h.orm, { logger });
    h.fakeSlack = await startFakeSlack();
    if (options.socketMode) h.socketMode = await FakeSocketMode.start(h.fakeSlack);
    const config = loadConfig({
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: 'xoxb-test-token',
      ...(options.socketMode && { SLACK_APP_TOKEN: APP_TOKEN }),
      SLACK_API_URL: h.fakeSlack.apiUrl,
      ...databaseEnv(h.db.url),
      LOG_LEVEL: 'silent',
    });
    const app = express();
    // Where createHttpApp puts the shared counters; without them no Slack user is limited.
    if (options.rateLimits) app.locals.rateLimits = options.rateLimits;
    const handle = mountSlack(app, { config, logger, services: h.services });
    if (!handle) throw new Error('Slack is not configured');
    h.handle = handle;
    // Work a test started after its acks (answers, App Home refreshes, DMs) counts as in flight
    // until its listener returns; the next test starts once it is done, so none of it lands in
    // the next test's record of calls.
    handle.app.use(async ({ next }) => {
      inFlight += 1;
      try {
        await next();
      } finally {
        inFlight -= 1;
        if (inFlight === 0) for (const resolve of idleWaiters.splice(0)) resolve();
      }
    });
    await withinMs(handle.ready, 5_000, 'the app did not connect within 5 s');
    h.server = await new Promise<Server>((resolve) => {
      const server = app.listen(0, '127.0.0.1', () => resolve(server));
    });
    h.endpoint = `http://127.0.0.1:${(h.server.address() as AddressInfo).port}${SLACK_EVENTS_PATH}`;
    h.slack = new SlackRequests({
      endpoint: h.endpoint,
      signingSecret: SIGNING_SECRET,
      teamId: slackTeamId,
      fakeSlack: h.fakeSlack,
    });
  });
  beforeEach(async () => {
    await withinMs(idle(), 20_000, "the previous test's Slack work did not finish within 20 s");
    h.fakeSlack?.clear();
  });
  afterAll(async () => {
    // The last test's Slack work may still run (beforeEach waits for it, but no test follows the
    // last one): closing the fake Slack under it sent its Web API calls into retries, which held
    // their database connections, and closing the ORM waited for those past the hook's timeout.
    await withinMs(idle(), 20_000, "the last test's Slack work did not finish within 20 s");
    // The app first, so that it closes its socket itself and does not try to reconnect.
    await h.handle?.stop();
    await h.socketMode?.close();
    if (h.server) {
      h.server.closeAllConnections();
      await new Promise((resolve) => h.server.close(resolve));
    }
    await h.fakeSlack?.close();
    if (h.services) await closeServices(h.services);
    await h.orm?.close(true);
    await h.db?.drop();
  });
  return h;
}

/** `promise`, or a failure after `ms` (so a connection that goes astray fails the hook in seconds). */
async function withinMs<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface SeededMember extends MemberView {
  slackUserId: string;
}

export interface SlackTeam {
  team: TeamView;
  owner: SeededMember;
  admin: SeededMember;
  user: SeededMember;
}

/**
 * A team in the workspace with an owner, an admin and a user, each linked to a Slack user, and
 * 1,000 on the master balance. Built through the services, as `/team setup` and friends would.
 */
export async function seedSlackTeam(
  h: SlackHarness,
  options: { currency?: string } = {},
): Promise<SlackTeam> {
  const { services } = h;
  const { team, owner } = await services.teams.setup({
    slackTeamId: h.slack.teamId,
    name: 'Acme',
    currency: options.currency ?? 'EUR',
    owner: { name: 'Olivia Owner', email: 'olivia@acme.test', slackUserId: 'U0OWNER' },
    via: 'slack',
  });
  await services.ledger.topUp(operator, { teamId: team.id, amount: '1000' });
  const ownerActor = memberActor(owner.id, 'slack');
  const admin = await services.members.create(ownerActor, { name: 'Adam Admin', email: 'adam@acme.test' });
  await services.members.link(ownerActor, { id: admin.member.id }, 'U0ADMIN');
  const request = await services.approvals.request(ownerActor, {
    member: { id: admin.member.id },
    role: 'admin',
  });
  await services.approvals.approve(ownerActor, request.id);
  const user = await services.members.create(ownerActor, { name: 'Uma User', email: 'uma@acme.test' });
  await services.members.link(ownerActor, { id: user.member.id }, 'U0USER');
  const show = (id: number) => services.members.show(ownerActor, { id }) as Promise<SeededMember>;
  return {
    team: await services.teams.get(ownerActor),
    owner: await show(owner.id),
    admin: await show(admin.member.id),
    user: await show(user.member.id),
  };
}

/** The text a reply showed, blocks included, for assertions on what the person reads. */
export function shown(call: { args: Record<string, unknown> }): string {
  return JSON.stringify([call.args.text, call.args.blocks, call.args.view]);
}

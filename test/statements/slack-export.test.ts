import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp, type HttpDeps } from '../../src/http/server.ts';
import { mountSlack, SLACK_EVENTS_PATH } from '../../src/slack/index.ts';
import { STATEMENT_HEADERS } from '../../src/statements/statement.service.ts';
import { seedTeam } from '../helpers/services.ts';
import { SlackRequests } from '../helpers/slack-requests.ts';
import { useWorkerHarness } from '../helpers/worker-harness.ts';
import { eventually, silentLogger } from '../helpers/workers.ts';

/**
 * `/team export` end to end: a signed slash command, the ack, the outbox, the relay, the job on
 * the Slack queue, and the file uploaded to the fake Slack in the caller's DM.
 */
const h = useWorkerHarness();
let server: Server;
let slack: SlackRequests;
let team: Awaited<ReturnType<typeof seedTeam>>;
let ownerSlackId: string;
const USER_SLACK_ID = 'U0EXPORTUSER';
const NAME = 'Łukasz "Łuki" Żółć, 李';

beforeAll(async () => {
  const deps: HttpDeps = {
    config: h.config,
    logger: silentLogger,
    orm: h.orm,
    services: h.services,
    queues: h.queues,
  };
  const app = createHttpApp(deps, { apiRoutes: [], mounts: [(express) => mountSlack(express, deps)] });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  team = await seedTeam(h.services);
  ownerSlackId = team.owner.slackUserId!;
  slack = new SlackRequests({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}${SLACK_EVENTS_PATH}`,
    signingSecret: h.config.slack!.signingSecret,
    teamId: team.team.slackTeamId!,
    fakeSlack: { botUserId: h.slack.botUserId, responseUrl: (id) => h.slack.responseUrl(id) },
  });
  await h.sql.query('update members set slack_user_id = $1, name = $2 where id = $3', [
    USER_SLACK_ID,
    NAME,
    team.user.id,
  ]);
  await h.services.ledger.credit(team.owner.actor, {
    member: { id: team.user.id },
    amount: '3.75',
    reason: 'budget, "Q4"',
  });
  await h.services.ledger.credit(team.owner.actor, { member: { id: team.admin.id }, amount: '1' });
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
});

async function command(userId: string, text: string) {
  const res = await slack.command(userId, text);
  expect(res.status).toBe(200);
  return h.slack.waitForResponse(res.responseId);
}

/** The CSV files shared in the user's DM so far, parsed. */
function filesFor(userId: string) {
  return h.slack.filesIn(`D${userId}`).map((file) => ({
    file,
    rows: parse(file.content!.toString('utf8'), { columns: true }) as Record<string, string>[],
  }));
}

describe('/team export', () => {
  it("acks at once, then sends the transfers as a CSV file in the owner's DM", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const reply = await command(ownerSlackId, `export transfers ${today} ${today}`);
    expect(reply.args.text).toContain('direct messages');

    await eventually(() => filesFor(ownerSlackId).length === 1, { message: 'the statement file' });
    const [{ file, rows }] = filesFor(ownerSlackId) as [ReturnType<typeof filesFor>[number]];
    expect(file.filename).toBe(`transfers-${today}-${today}.csv`);
    expect(file.initialComment).toContain('3 rows');
    expect(file.content!.toString('utf8').split('\r\n')[0]).toBe(STATEMENT_HEADERS.transfers.join(','));
    expect(rows.map((row) => [row.kind, row.amount, row.to_member_name, row.reason])).toEqual([
      ['master_topup', '1000.00', '', ''],
      ['credit', '3.75', NAME, 'budget, "Q4"'],
      ['credit', '1.00', 'Adam Admin', ''],
    ]);
    // The DM channel was opened for the owner, and the upload used the workspace's token.
    expect(h.slack.callsTo('conversations.open').map((call) => call.args.users)).toContain(ownerSlackId);
    expect(file.token).toBe('xoxb-test-token');
  });

  it('gives a user only its own transfers, and refuses another member’s at once', async () => {
    await command(USER_SLACK_ID, 'export transfers');
    await eventually(() => filesFor(USER_SLACK_ID).length === 1, { message: "the user's file" });
    const [{ rows }] = filesFor(USER_SLACK_ID) as [ReturnType<typeof filesFor>[number]];
    expect(rows.map((row) => row.to_member_id)).toEqual([String(team.user.id)]);

    const refused = await command(USER_SLACK_ID, `export transfers ${team.admin.id}`);
    expect(refused.args.text).toMatch(/may not|not allowed|only/i);
  });

  it('says so by DM when there is nothing to export, and refuses a range that ends before it starts', async () => {
    await command(ownerSlackId, 'export messages 2020-01-01 2020-01-31');
    const dm = await h.slack.waitFor(
      'chat.postMessage',
      (call) => call.args.channel === ownerSlackId && /Nothing to export/.test(call.args.text),
    );
    expect(dm.args.text).toContain('messages from 2020-01-01 to 2020-01-31');
    expect(filesFor(ownerSlackId)).toHaveLength(1);

    // Refused in the ack itself, with the usage line.
    const refusal = async (text: string) => {
      const res = await slack.command(ownerSlackId, text);
      expect(res.status).toBe(200);
      return String(res.json.text);
    };
    expect(await refusal('export transfers 2026-11-30 2026-11-01')).toContain(
      'The first date (2026-11-30) is after the second (2026-11-01)',
    );
    expect(await refusal('export transfers 2026-02-30')).toContain('is not a date');
    expect(await refusal('export invoices')).toContain('transfers, messages');
    const filesBefore = h.slack.files.size;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(h.slack.files.size).toBe(filesBefore);
  });
});

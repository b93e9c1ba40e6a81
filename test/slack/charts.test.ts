import { describe, expect, it } from 'vitest';
import { memberActor, operator } from '../../src/shared/actor.ts';
import { CHART_HEIGHT, CHART_WIDTH } from '../../src/stats/charts.ts';
import { seedRuntimeTeam, useRuntime } from '../hardening/runtime-harness.ts';
import { decodePng } from '../helpers/png.ts';

/**
 * `/team stats` through the real product (signed requests, outbox, workers, the Slack queue):
 * the text answer, then the chart uploaded to the channel where it was asked, and the App Home
 * showing the team's latest chart.
 */
const h = useRuntime();

describe('/team stats with a chart', () => {
  it('uploads the chart to the channel where it was asked, and the App Home shows the latest team chart', async () => {
    const slackTeamId = 'T0CHARTS';
    const { team, owner, services } = await seedRuntimeTeam(h, slackTeamId);
    const ownerActor = memberActor(owner.id, 'api');
    const slack = h.slackRequests(h.base, slackTeamId);
    await services.ledger.topUp(operator, { teamId: team.id, amount: '100' });
    await services.messaging.setPrice(operator, { teamId: team.id, prefix: 'default', price: '0.05' });
    const { member: uma } = await services.members.create(ownerActor, { name: 'Uma Userova' });
    await services.members.link(ownerActor, { id: uma.id }, 'U0UMACHART');
    await services.ledger.credit(ownerActor, { member: { id: uma.id }, amount: '5' });
    await services.messaging.send(memberActor(uma.id, 'api'), {
      to: ['+4917012345678', '+4917012345679'],
      message: 'chart me',
    });
    await services.messaging.send(ownerActor, { to: '+4917012345678', message: 'and me' });

    const asked = await slack.command(owner.slackUserId!, 'stats 7d', { channelId: 'C0STATS' });
    expect(asked.status).toBe(200);
    // The answer is the figures, as before the charts.
    const reply = await h.slack.waitForResponse(asked.responseId);
    expect(reply.args.text).toMatch(/^Statistics \d{4}-\d{2}-\d{2} – \d{4}-\d{2}-\d{2}$/);

    await h.slack.waitFor(
      'files.completeUploadExternal',
      (call) => call.args.channel_id === 'C0STATS',
      60_000,
    );
    const [file] = h.slack.filesIn('C0STATS');
    expect(file).toMatchObject({ filename: expect.stringMatching(/^stats-.*\.png$/), completed: true });
    expect(file!.title).toBe(`${team.name}: messages and cost`);
    expect(file!.initialComment).toContain(`Statistics of ${team.name}`);
    const image = await decodePng(file!.content!);
    expect([image.width, image.height]).toEqual([CHART_WIDTH, CHART_HEIGHT]);
    const announced = h.slack
      .callsTo('files.getUploadURLExternal')
      .find((c) => c.args.filename === file!.filename);
    expect(announced?.args.alt_text).toContain('3 messages');

    // The owner's App Home shows it by its Slack file id.
    await slack.event({ type: 'app_home_opened', user: owner.slackUserId, channel: 'D0OWNER', tab: 'home' });
    const ownerHome = await h.slack.waitFor(
      'views.publish',
      (call) => call.args.user_id === owner.slackUserId,
    );
    const image0 = (ownerHome.args.view.blocks as { type: string }[]).find((b) => b.type === 'image');
    expect(image0).toMatchObject({
      type: 'image',
      slack_file: { id: file!.id },
      alt_text: expect.any(String),
    });

    // A user's chart is of its own messages, in its channel; it is not the team's chart on show,
    // and a user's App Home has none (the team chart shows every member's figures).
    await slack.command('U0UMACHART', 'stats', { channelId: 'C0UMA' });
    await h.slack.waitFor('files.completeUploadExternal', (call) => call.args.channel_id === 'C0UMA', 60_000);
    const [own] = h.slack.filesIn('C0UMA');
    expect(own!.initialComment).toContain('Uma Userova (own messages)');
    expect(own!.title).toBe('Uma Userova: messages and cost');
    h.slack.clear();
    await slack.event({ type: 'app_home_opened', user: 'U0UMACHART', channel: 'D0UMA', tab: 'home' });
    const userHome = await h.slack.waitFor('views.publish', (call) => call.args.user_id === 'U0UMACHART');
    expect(JSON.stringify(userHome.args.view.blocks)).not.toContain('slack_file');
    await slack.event({ type: 'app_home_opened', user: owner.slackUserId, channel: 'D0OWNER', tab: 'home' });
    const again = await h.slack.waitFor('views.publish', (call) => call.args.user_id === owner.slackUserId);
    expect(JSON.stringify(again.args.view.blocks)).toContain(file!.id);
    // One upload per command.
    expect(h.slack.filesIn('C0STATS')).toHaveLength(1);
  }, 120_000);

  it('a period no one sent in gives a chart that says so', async () => {
    const slackTeamId = 'T0NOCHART';
    const { team, owner } = await seedRuntimeTeam(h, slackTeamId);
    await h
      .slackRequests(h.base, slackTeamId)
      .command(owner.slackUserId!, 'stats today', { channelId: 'C0QUIET' });
    await h.slack.waitFor(
      'files.completeUploadExternal',
      (call) => call.args.channel_id === 'C0QUIET',
      60_000,
    );
    const [file] = h.slack.filesIn('C0QUIET');
    const announced = h.slack
      .callsTo('files.getUploadURLExternal')
      .find((c) => c.args.filename === file!.filename);
    expect(announced?.args.alt_text).toContain(`Chart of ${team.name}: no messages`);
    const image = await decodePng(file!.content!);
    expect([image.width, image.height]).toEqual([CHART_WIDTH, CHART_HEIGHT]);
  }, 120_000);
});

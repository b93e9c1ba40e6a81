import { describe, expect, it } from 'vitest';
import { memberActor } from '../../src/shared/actor.ts';
import { uploadChartOnce } from '../../src/slack/outbound/chart-upload.ts';
import { createSlackPoster } from '../../src/slack/outbound/slack-poster.ts';
import { WorkspaceRateLimits } from '../../src/slack/workspace-rate-limits.ts';
import { createWorkspaceTokens } from '../../src/slack/workspace-tokens.ts';
import type { ChartRequest } from '../../src/stats/chart.service.ts';
import { CHART_HEIGHT, CHART_WIDTH } from '../../src/stats/charts.ts';
import { periodRange } from '../../src/stats/stats.service.ts';
import { decodePng } from '../helpers/png.ts';
import { seedTeam } from '../helpers/services.ts';
import { useWorkerHarness } from '../helpers/worker-harness.ts';
import { eventually, silentLogger } from '../helpers/workers.ts';

const h = useWorkerHarness();

async function sendSome(team: Awaited<ReturnType<typeof seedTeam>>) {
  await h.services.ledger.credit(team.owner.actor, { member: { id: team.user.id }, amount: '5' });
  await h.services.messaging.send(memberActor(team.user.id, 'api'), {
    to: ['+4917012345678', '+4917012345679'],
    message: 'weekly',
  });
}

describe('the weekly digest', () => {
  it('carries the chart of its week, once however often the digest job runs; a daily one has none', async () => {
    const daily = await seedTeam(h.services);
    await h.services.digests.configure(daily.admin.actor, { channel: 'C0DAILY', frequency: 'daily' });
    await sendSome(daily);
    const weekly = await seedTeam(h.services);
    await h.services.digests.configure(weekly.admin.actor, { channel: 'C0WEEKLY', frequency: 'weekly' });
    await sendSome(weekly);

    const scheduledFor = Math.floor(Date.now() / 60_000) * 60_000 + 60_000;
    await h.services.digests.send({ teamId: daily.team.id }, { scheduledFor }, h.queues);
    // The scheduler's job delivered twice: one digest, one chart.
    await h.services.digests.send({ teamId: weekly.team.id }, { scheduledFor }, h.queues);
    await h.services.digests.send({ teamId: weekly.team.id }, { scheduledFor }, h.queues);

    await h.slack.waitFor(
      'files.completeUploadExternal',
      (call) => call.args.channel_id === 'C0WEEKLY',
      60_000,
    );
    const digest = await h.slack.waitFor('chat.postMessage', (call) => call.args.channel === 'C0WEEKLY');
    expect(digest.args.text).toContain(`Weekly digest for ${weekly.team.name}`);
    const files = h.slack.filesIn('C0WEEKLY');
    expect(files).toHaveLength(1);
    expect(files[0]!.initialComment).toContain(`weekly digest of ${weekly.team.name}`);
    const image = await decodePng(files[0]!.content!);
    expect([image.width, image.height]).toEqual([CHART_WIDTH, CHART_HEIGHT]);
    // The week's chart is the team's latest, on its managers' App Home, once the job that
    // uploaded it has recorded it (the upload's last call comes first).
    await eventually(
      async () => (await h.services.charts.latest(weekly.admin.actor))?.slackFileId === files[0]!.id,
      { message: "the week's chart recorded as the team's latest" },
    );

    // The slack queue runs one job at a time, in order: a daily chart would have come first.
    await eventually(() => h.slack.callsTo('chat.postMessage').some((c) => c.args.channel === 'C0DAILY'));
    expect(h.slack.filesIn('C0DAILY')).toEqual([]);
    expect(h.slack.filesIn('C0WEEKLY')).toHaveLength(1);
  }, 120_000);
});

describe('the stats.chart job', () => {
  it('run again after its upload uploads nothing more, and an older period does not replace the chart on show', async () => {
    const team = await seedTeam(h.services);
    await sendSome(team);
    const slack = createSlackPoster(
      h.config,
      createWorkspaceTokens(h.config, undefined, h.orm),
      new WorkspaceRateLimits(h.orm),
      silentLogger,
    );
    const deps = { services: h.services, slack };
    // As the job carries it (charts.request would also queue it, for the harness's workers to run).
    const request: ChartRequest = {
      teamId: team.team.id,
      memberId: null,
      channel: 'C0RETRY',
      reason: 'stats',
      ...periodRange('7d'),
    };

    expect(await uploadChartOnce(deps, request, 'retried-job')).toMatch(/^uploaded F/);
    expect(await uploadChartOnce(deps, request, 'retried-job')).toBe('already uploaded');
    const [file] = h.slack.filesIn('C0RETRY');
    expect(h.slack.filesIn('C0RETRY')).toHaveLength(1);
    expect(await h.services.charts.latest(team.owner.actor)).toMatchObject({ slackFileId: file!.id });

    // A team that is gone cannot be drawn, now or later: the job fails without retries.
    await expect(uploadChartOnce(deps, { ...request, teamId: 2_000_000 }, 'gone-team')).rejects.toMatchObject(
      {
        name: 'UnrecoverableError',
        message: expect.stringContaining('There is no team'),
      },
    );

    const older: ChartRequest = { ...request, from: '2026-01-01', to: '2026-01-07' };
    expect(await uploadChartOnce(deps, older, 'late-old-job')).toMatch(/^uploaded F/);
    expect(await h.services.charts.latest(team.owner.actor)).toMatchObject({
      slackFileId: file!.id,
      to: request.to,
    });
  }, 60_000);
});

import { describe, expect, it } from 'vitest';
import { closeServices, createServices } from '../../src/app.ts';
import { operator } from '../../src/shared/actor.ts';
import {
  CHART_COLOURS,
  CHART_HEIGHT,
  CHART_WIDTH,
  fillDays,
  renderStatsChart,
} from '../../src/stats/charts.ts';
import { clearOfUtcMidnight } from '../helpers/clock.ts';
import { countColour, decodePng } from '../helpers/png.ts';
import { seedTeam, useServices } from '../helpers/services.ts';
import { fund, instantMessaging, runMessagingJobs } from '../messaging/helpers.ts';

const h = useServices();

/** Pixels of the daily panel's bars and line, and of the top members' bars. */
function inks(pixels: Uint8ClampedArray) {
  return {
    messageBars: countColour(pixels, CHART_COLOURS.messages),
    costLine: countColour(pixels, CHART_COLOURS.cost),
    memberBars: countColour(pixels, CHART_COLOURS.members),
    text: countColour(pixels, CHART_COLOURS.text, 40) + countColour(pixels, CHART_COLOURS.muted, 40),
  };
}

describe('the statistics chart', () => {
  it('is a valid PNG of the fixed size, with bars per day, the cost line and the top members', async () => {
    const png = await renderStatsChart({
      title: 'Acme: messages and cost',
      currency: 'EUR',
      from: '2026-11-03',
      to: '2026-12-02',
      timezone: 'Europe/Berlin',
      days: [
        { day: '2026-11-05', messages: 12, cost: 600_000n },
        { day: '2026-11-20', messages: 40, cost: 2_400_000n },
      ],
      members: [
        { name: 'Olga Петрова', messages: 30, cost: 1_800_000n },
        { name: 'Ζωή Παπαδοπούλου', messages: 22, cost: 1_200_000n },
      ],
    });
    const image = await decodePng(png);
    expect([image.width, image.height]).toEqual([CHART_WIDTH, CHART_HEIGHT]);
    const ink = inks(image.pixels);
    expect(ink.messageBars).toBeGreaterThan(1_000);
    expect(ink.costLine).toBeGreaterThan(200);
    expect(ink.memberBars).toBeGreaterThan(1_000);
    expect(ink.text).toBeGreaterThan(500);
  });

  it('with no messages is a PNG of the same size that says so, without bars', async () => {
    const png = await renderStatsChart({
      title: 'Acme: messages and cost',
      currency: 'EUR',
      from: '2026-11-26',
      to: '2026-12-02',
      timezone: 'Europe/Berlin',
      days: [],
      members: [],
    });
    const image = await decodePng(png);
    expect([image.width, image.height]).toEqual([CHART_WIDTH, CHART_HEIGHT]);
    const ink = inks(image.pixels);
    expect(ink.messageBars + ink.memberBars + ink.costLine).toBe(0);
    // The "No messages in this period" line in the middle of the picture.
    const middle = image.pixels.subarray(
      CHART_WIDTH * 4 * (CHART_HEIGHT / 2 - 30),
      CHART_WIDTH * 4 * (CHART_HEIGHT / 2 + 50),
    );
    expect(countColour(middle, CHART_COLOURS.muted, 40)).toBeGreaterThan(100);
  });

  it('shows every day of the range, days without messages as zero', () => {
    const days = fillDays('2026-11-29', '2026-12-02', [{ day: '2026-12-01', messages: 4, cost: 5n }]);
    expect(days.map((d) => [d.day, d.messages])).toEqual([
      ['2026-11-29', 0],
      ['2026-11-30', 0],
      ['2026-12-01', 4],
      ['2026-12-02', 0],
    ]);
  });

  it('is drawn from the statistics rollups: the team, or only the member for a user', async () => {
    await clearOfUtcMidnight(20_000);
    const messaging = instantMessaging(h.orm);
    h.services.messaging = messaging;
    const { team, owner, admin, user } = await seedTeam(h.services);
    await messaging.setPrice(operator, { teamId: team.id, prefix: 'default', price: '0.02' });
    await fund(h.services, owner.actor, user.id, '1');
    await fund(h.services, owner.actor, admin.id, '1');
    await messaging.send(user.actor, { to: ['+4917012345678', '+4917012345679'], message: 'hello' });
    await messaging.send(admin.actor, { to: '+4917012345678', message: 'hi' });
    await runMessagingJobs(h.orm, messaging);
    const charts = h.services.charts;

    const teamWide = await charts.request(owner.actor, { period: '7d' }, 'C0STATS');
    expect(teamWide).toMatchObject({ teamId: team.id, memberId: null, channel: 'C0STATS', reason: 'stats' });
    const chart = await charts.render(teamWide);
    expect(chart).toMatchObject({ messages: 3, subject: { kind: 'team', name: team.name } });
    expect(chart.filename).toBe(`stats-${teamWide.from}-${teamWide.to}.png`);
    expect(inks((await decodePng(chart.png)).pixels).memberBars).toBeGreaterThan(1_000);

    // A user asking for the team's figures gets its own, as with the numbers.
    const own = await charts.request(user.actor, { period: '7d' }, 'C0STATS');
    expect(own.memberId).toBe(user.id);
    expect(await charts.render(own)).toMatchObject({
      messages: 2,
      subject: { kind: 'member', name: user.name },
    });
    await expect(charts.request(user.actor, { member: { id: admin.id } }, 'C0STATS')).rejects.toMatchObject({
      code: 'forbidden',
    });
    await expect(charts.request(owner.actor, {}, 'general')).rejects.toMatchObject({ field: 'channel' });
  });

  it('is drawn off the event loop: the process timers keep firing while it draws', async () => {
    // The most there is to draw: the longest range, every day with messages, a full top list.
    const days = fillDays('2026-09-01', '2026-12-01', []).map((day, index) => ({
      ...day,
      messages: 10 + (index % 17),
      cost: BigInt(index) * 130_000n,
    }));
    const members = Array.from({ length: 12 }, (_, index) => ({
      name: `Member ${index}`,
      messages: 100 - index,
      cost: BigInt(100 - index) * 50_000n,
    }));
    const input = {
      title: 'Acme',
      currency: 'EUR',
      from: '2026-09-01',
      to: '2026-12-01',
      timezone: 'UTC',
      days,
      members,
    };
    // Each tick of a 5 ms timer notes the time since the last one; a draw on the event loop
    // (the whole chart is drawn in one synchronous stretch) would show as one gap nearly as
    // long as the render.
    let last = performance.now();
    let longestGap = 0;
    let ticks = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
      ticks += 1;
    }, 5);
    const started = performance.now();
    try {
      const png = await h.services.charts.draw(input);
      const rendering = performance.now() - started;
      expect(inks((await decodePng(png)).pixels).memberBars).toBeGreaterThan(1_000);
      expect(ticks).toBeGreaterThan(5);
      expect(longestGap).toBeLessThan(rendering / 2);
    } finally {
      clearInterval(timer);
    }
  });

  it('is drawn on a thread that closing the services ends', async () => {
    const workerThreads = () =>
      (process.report.getReport() as unknown as { workers: unknown[] }).workers.length;
    const services = createServices(h.orm);
    const { owner } = await seedTeam(services);
    const request = await services.charts.request(owner.actor, { period: '7d' }, 'C0STATS');
    const before = workerThreads();
    await services.charts.render(request);
    expect(workerThreads()).toBe(before + 1);
    // Reused, not one thread per chart.
    await services.charts.render(request);
    expect(workerThreads()).toBe(before + 1);

    await closeServices(services);
    expect(workerThreads()).toBe(before);
    await expect(services.charts.render(request)).rejects.toThrow('the chart drawing thread is closed');
  });
});

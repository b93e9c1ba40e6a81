import { describe, expect, it } from 'vitest';
import { operator } from '../../src/shared/actor.ts';
import { ForbiddenError, ValidationError } from '../../src/shared/errors.ts';
import { periodRange } from '../../src/stats/stats.service.ts';
import { clearOfUtcMidnight } from '../helpers/clock.ts';
import { seedTeam, useServices } from '../helpers/services.ts';
import { fund, instantMessaging, runMessagingJobs } from '../messaging/helpers.ts';

const h = useServices();

describe('periods', () => {
  const now = new Date('2026-11-24T23:30:00Z');
  it.each([
    ['today', '2026-11-24', '2026-11-24'],
    ['7d', '2026-11-18', '2026-11-24'],
    ['30d', '2026-10-26', '2026-11-24'],
    ['month', '2026-11-01', '2026-11-24'],
  ])('%s covers %s to %s (UTC days, today included)', (period, from, to) => {
    expect(periodRange(period, now)).toEqual({ from, to });
  });

  it('refuses an unknown period, naming it', () => {
    expect(() => periodRange('week', now)).toThrow(ValidationError);
  });
});

describe('statistics', () => {
  it('answer per member and for the team, day by day, scoped to what the caller may see', async () => {
    // "today" and "yesterday" below are the UTC days of the messages sent here.
    await clearOfUtcMidnight(20_000);
    const messaging = instantMessaging(h.orm);
    h.services.messaging = messaging;
    const { team, owner, admin, user } = await seedTeam(h.services);
    await messaging.setPrice(operator, { teamId: team.id, prefix: 'default', price: '0.02' });
    await fund(h.services, owner.actor, user.id, '1');
    await fund(h.services, owner.actor, admin.id, '1');
    await messaging.send(user.actor, { to: ['+4917012345678', '+15005550001'], message: 'a'.repeat(170) });
    await messaging.send(admin.actor, { to: '+4917012345678', message: 'hi' });
    await runMessagingJobs(h.orm, messaging);

    const all = await h.services.stats.query(owner.actor, { period: 'today', groupBy: 'day' });
    expect(all.team).toMatchObject({
      messages: 3,
      parts: 5,
      charged: 100_000n,
      refunded: 40_000n,
      cost: 60_000n,
      delivered: 2,
      failed: 1,
      pending: 0,
    });
    expect(all.team!.days).toHaveLength(1);
    expect(all.members.map((m) => [m.name, m.messages])).toEqual([
      ['Uma User', 2],
      ['Adam Admin', 1],
    ]);

    const one = await h.services.stats.query(owner.actor, { member: { email: user.email! } });
    expect(one.team).toBeNull();
    expect(one.members.map((m) => m.memberId)).toEqual([user.id]);

    const own = await h.services.stats.query(user.actor, {});
    expect(own.team).toBeNull();
    expect(own.members.map((m) => m.memberId)).toEqual([user.id]);
    await expect(h.services.stats.query(user.actor, { member: { id: admin.id } })).rejects.toThrow(
      ForbiddenError,
    );

    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const before = await h.services.stats.query(owner.actor, { from: yesterday, to: yesterday });
    expect(before.members).toEqual([]);
    expect(before.team).toMatchObject({ messages: 0, cost: 0n });

    const byOperator = await h.services.stats.query(operator, { teamId: team.id, period: 'today' });
    expect(byOperator.team).toMatchObject({ messages: 3 });
  }, 60_000);

  it('refuses malformed ranges, naming the field', async () => {
    const { owner } = await seedTeam(h.services);
    const field = async (filters: Parameters<typeof h.services.stats.query>[1]) => {
      const error = await h.services.stats.query(owner.actor, filters).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      return (error as ValidationError).field;
    };
    expect(await field({ from: '2026-13-01' })).toBe('from');
    expect(await field({ from: '2026-11-20', to: '2026-11-10' })).toBe('to');
    expect(await field({ period: '7d', from: '2026-11-01' })).toBe('period');
    expect(await field({ groupBy: 'week' })).toBe('group_by');
    expect(await field({ from: '2000-01-01', to: '2026-01-01' })).toBe('from');
    await expect(h.services.stats.query(operator, {})).rejects.toThrow(ValidationError);
  });
});

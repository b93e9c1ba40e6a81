import { describe, expect, it } from 'vitest';
import type { MessagingService } from '../../src/messaging/messaging.service.ts';
import { queryAll, queryOne } from '../../src/platform/sql.ts';
import { operator } from '../../src/shared/actor.ts';
import {
  ConflictError,
  ForbiddenError,
  InsufficientFundsError,
  ValidationError,
} from '../../src/shared/errors.ts';
import { seedTeam, useServices } from '../helpers/services.ts';
import { expectStatsEqualLog, fund, instantMessaging } from './helpers.ts';

const h = useServices();
const GERMAN = '+4917012345678';
const US = '+12025550123';

async function balanceOf(memberId: number): Promise<bigint> {
  const row = await queryOne<{ balance: string }>(
    h.orm.em.fork(),
    'select balance from members where id = ?',
    [memberId],
  );
  return BigInt(row!.balance);
}

async function outboxJobs(job: string): Promise<Record<string, unknown>[]> {
  const rows = await queryAll<{ payload: Record<string, unknown> }>(
    h.orm.em.fork(),
    'select payload from outbox where job = ? order by id',
    [job],
  );
  return rows.map((r) => r.payload);
}

describe('sending charges the sender', () => {
  it('charges parts times the longest-prefix price, writes the message, the transfer, the rollup and a dispatch job', async () => {
    const messaging = instantMessaging(h.orm);
    const { team, owner, user } = await seedTeam(h.services);
    await fund(h.services, owner.actor, user.id, '5');
    await messaging.setPrice(operator, { teamId: team.id, prefix: '49', price: '0.075' });
    await messaging.setPrice(operator, { teamId: team.id, prefix: '4917', price: '0.09' });
    await messaging.setPrice(operator, { teamId: team.id, prefix: 'default', price: '0.06' });

    const result = await messaging.send(user.actor, { to: GERMAN, message: 'a'.repeat(161) });
    expect(result.messages).toEqual([
      { id: expect.any(String), to: GERMAN, parts: 2, cost: 180_000n, status: 'queued' },
    ]);
    expect(result.balance).toBe(5_000_000n - 180_000n);
    expect(await balanceOf(user.id)).toBe(4_820_000n);

    const us = await messaging.send(user.actor, { to: [US, '+4915112345678'], message: 'Olá' });
    expect(us.messages.map((m) => m.cost)).toEqual([60_000n, 75_000n]);
    expect(us.encoding).toBe('ucs2');
    expect(await balanceOf(user.id)).toBe(4_820_000n - 135_000n);

    const transfers = await queryAll<{ kind: string; amount: string; from_member_id: number }>(
      h.orm.em.fork(),
      "select kind, amount, from_member_id from transfers where team_id = ? and kind = 'message_charge' order by id",
      [team.id],
    );
    expect(transfers).toEqual([
      { kind: 'message_charge', amount: '180000', from_member_id: user.id },
      { kind: 'message_charge', amount: '135000', from_member_id: user.id },
    ]);
    const dispatches = await outboxJobs('message.dispatch');
    expect(dispatches.at(-1)).toEqual({ messageIds: us.messages.map((m) => m.id) });
    await expectStatsEqualLog(h.orm, team.id);
  });

  it('refuses a request the balance cannot pay for in full, charging and queuing nothing', async () => {
    const messaging = instantMessaging(h.orm);
    const { team, owner, user } = await seedTeam(h.services);
    await fund(h.services, owner.actor, user.id, '0.12');
    await messaging.setPrice(operator, { teamId: team.id, prefix: 'default', price: '0.05' });
    const before = (await outboxJobs('message.dispatch')).length;

    await expect(messaging.send(user.actor, { to: [GERMAN, US, GERMAN], message: 'hi' })).rejects.toThrow(
      InsufficientFundsError,
    );
    expect(await balanceOf(user.id)).toBe(120_000n);
    expect((await outboxJobs('message.dispatch')).length).toBe(before);
    const messages = await queryOne<{ n: string }>(
      h.orm.em.fork(),
      'select count(*) as n from messages where member_id = ?',
      [user.id],
    );
    expect(messages!.n).toBe('0');
  });

  it('64 concurrent sends paid for exactly N parts: N charged, the rest refused with 402, balance exactly 0', async () => {
    // Two service instances stand for two web processes: they share nothing but the database.
    const first = instantMessaging(h.orm);
    const second = instantMessaging(h.orm);
    const { team, owner, user } = await seedTeam(h.services);
    const N = 23;
    await first.setPrice(operator, { teamId: team.id, prefix: 'default', price: '0.01' });
    await fund(h.services, owner.actor, user.id, (N / 100).toFixed(2));

    const outcomes = await Promise.allSettled(
      Array.from({ length: 64 }, (_, i) =>
        (i % 2 ? first : second).send(user.actor, { to: GERMAN, message: `message ${i}` }),
      ),
    );
    const charged = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.filter((o) => o.status === 'rejected');
    expect(charged).toHaveLength(N);
    expect(refused).toHaveLength(64 - N);
    for (const r of refused)
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(InsufficientFundsError);
    expect(await balanceOf(user.id)).toBe(0n);
    const sums = await queryOne<{ messages: string; charged: string }>(
      h.orm.em.fork(),
      `select (select count(*) from messages where member_id = ?) as messages,
              (select sum(amount) from transfers where from_member_id = ? and kind = 'message_charge') as charged`,
      [user.id, user.id],
    );
    expect(sums).toEqual({ messages: String(N), charged: String(N * 10_000) });
    await expectStatsEqualLog(h.orm, team.id);
  });

  it('concurrent sends are grouped into fewer transactions than requests', async () => {
    const messaging = instantMessaging(h.orm);
    const { team, owner, user } = await seedTeam(h.services);
    await fund(h.services, owner.actor, user.id, '10');
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => messaging.send(user.actor, { to: US, message: `m${i}` })),
    );
    // now() is the transaction's start time: messages charged together share it.
    const transactions = await queryOne<{ messages: string; transactions: string }>(
      h.orm.em.fork(),
      `select count(*) as messages, count(distinct created_at) as transactions
         from messages where team_id = ?`,
      [team.id],
    );
    expect(transactions!.messages).toBe('50');
    expect(Number(transactions!.transactions)).toBeLessThan(50);
    expect(await balanceOf(user.id)).toBe(10_000_000n - 50n * 50_000n);
    await expectStatsEqualLog(h.orm, team.id);
  });

  it('an idempotency key makes a retry answer with the first result, charging once', async () => {
    const messaging = instantMessaging(h.orm);
    const { owner, user } = await seedTeam(h.services);
    await fund(h.services, owner.actor, user.id, '1');
    const input = { to: [GERMAN, US], message: 'once only', idempotencyKey: 'order-1234' };
    const [a, b] = await Promise.all([messaging.send(user.actor, input), messaging.send(user.actor, input)]);
    const c = await messaging.send(user.actor, input);
    expect(b.messages.map((m) => m.id)).toEqual(a.messages.map((m) => m.id));
    expect(c.messages.map((m) => m.id)).toEqual(a.messages.map((m) => m.id));
    expect([a.replayed, b.replayed].sort()).toEqual([false, true]);
    expect(c.replayed).toBe(true);
    expect(await balanceOf(user.id)).toBe(1_000_000n - 100_000n);
    await expect(messaging.send(user.actor, { ...input, message: 'something else' })).rejects.toThrow(
      ConflictError,
    );
  });

  it('when a charge takes the balance below the alert level, the same transaction asks for the balance-low job', async () => {
    const messaging = instantMessaging(h.orm);
    const { team, owner, user } = await seedTeam(h.services);
    await fund(h.services, owner.actor, user.id, '1.04');
    await messaging.setPrice(operator, { teamId: team.id, prefix: 'default', price: '0.05' });
    const lowJobs = async () =>
      (await outboxJobs('member.balance_low')).filter((p) => p.memberId === user.id).length;
    await messaging.send(user.actor, { to: US, message: 'first' });
    expect(await lowJobs()).toBe(1);
    expect(await balanceOf(user.id)).toBe(990_000n);
  });

  it('refuses inactive members, the operator, and malformed input naming the field', async () => {
    const messaging = instantMessaging(h.orm);
    const { owner, user } = await seedTeam(h.services);
    await fund(h.services, owner.actor, user.id, '1');
    await h.services.members.disable(owner.actor, { id: user.id });
    await expect(messaging.send(user.actor, { to: US, message: 'x' })).rejects.toThrow(ForbiddenError);
    expect(await balanceOf(user.id)).toBe(1_000_000n);
    await expect(messaging.send(operator, { to: US, message: 'x' })).rejects.toThrow(ForbiddenError);

    const fieldOf = async (input: Parameters<MessagingService['send']>[1]) => {
      const error = await messaging.send(owner.actor, input).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ValidationError);
      return (error as ValidationError).field;
    };
    expect(await fieldOf({ to: '12345', message: 'x' })).toBe('to');
    expect(await fieldOf({ to: [US, 'nope'], message: 'x' })).toBe('to[1]');
    expect(await fieldOf({ to: [], message: 'x' })).toBe('to');
    expect(await fieldOf({ to: Array(1001).fill(US), message: 'x' })).toBe('to');
    expect(await fieldOf({ to: US, message: '   ' })).toBe('message');
    expect(await fieldOf({ to: US, message: 'a'.repeat(1531) })).toBe('message');
    expect(await fieldOf({ to: US, message: 'x', senderId: 'far too long sender' })).toBe('sender_id');
  });
});

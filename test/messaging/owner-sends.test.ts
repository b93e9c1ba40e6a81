import { beforeAll, describe, expect, it } from 'vitest';
import * as messagingRoutes from '../../src/http/api/messaging.routes.ts';
import * as statsRoutes from '../../src/http/api/stats.routes.ts';
import { queryAll } from '../../src/platform/sql.ts';
import { InsufficientFundsError } from '../../src/shared/errors.ts';
import { useApi } from '../helpers/api.ts';
import { clearOfUtcMidnight } from '../helpers/clock.ts';
import { useServices } from '../helpers/services.ts';
import {
  expectStatsEqualLog,
  FAILING,
  GERMAN,
  instantMessaging,
  runMessagingJobs,
  teamWithPrice,
} from './helpers.ts';

/** The owner's money is the master balance, so the owner's own messages are paid from it. */
const h = useServices();
const api = useApi(h, [messagingRoutes, statsRoutes]);

beforeAll(() => {
  h.services.messaging = instantMessaging(h.orm);
});

const masterBalance = async (actor: Parameters<Services['teams']['get']>[0]) =>
  (await h.services.teams.get(actor)).masterBalance;
type Services = typeof h.services;

describe('the owner sends with its own API key', () => {
  it('is charged from the master balance, and the message counts in its log and statistics', async () => {
    // Statistics count "today" (UTC).
    await clearOfUtcMidnight(20_000);
    const { team, owner } = await teamWithPrice(h.services, '10');

    const r = await api.call('POST', '/sms', owner.apiKey, { to: GERMAN, message: 'From the owner' });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ to: GERMAN, parts: 1, cost: '0.05', status: 'queued', balance: '9.95' });
    expect(await masterBalance(owner.actor)).toBe(9_950_000n);
    const self = await h.services.members.show(owner.actor, { id: owner.id });
    expect(self.balance).toBe(0n);

    await runMessagingJobs(h.orm, h.services.messaging);
    const log = await api.call('GET', `/messages?member=${owner.id}`, owner.apiKey);
    expect(log.json.items).toEqual([
      expect.objectContaining({
        to: GERMAN,
        status: 'delivered',
        cost: '0.05',
        member: expect.objectContaining({ id: owner.id }),
      }),
    ]);
    const stats = await api.call('GET', '/stats?period=today', owner.apiKey);
    expect(stats.json.team).toMatchObject({ messages: 1, cost: '0.05', delivered: 1 });
    expect(stats.json.members).toEqual([
      expect.objectContaining({
        member: expect.objectContaining({ id: owner.id }),
        messages: 1,
        cost: '0.05',
      }),
    ]);
    const [charge] = await h.services.ledger.history(owner.actor, { member: { id: owner.id }, limit: 1 });
    expect(charge).toMatchObject({ kind: 'master_message_charge', amount: 50_000n });
    await expectStatsEqualLog(h.orm, team.id);
  });

  it('is refused with 402 when the master balance cannot pay, and nothing is charged or queued', async () => {
    const { team, owner } = await teamWithPrice(h.services, '0.07');
    const r = await api.call('POST', '/sms', owner.apiKey, { to: [GERMAN, GERMAN], message: 'two of them' });
    expect(r.status).toBe(402);
    expect(r.json.error.message).toMatch(/master balance is €0\.07, not enough for €0\.10/);
    expect(await masterBalance(owner.actor)).toBe(70_000n);
    const messages = await queryAll(h.orm.em.fork(), 'select id from messages where team_id = ?', [team.id]);
    expect(messages).toEqual([]);

    await expect(
      h.services.messaging.send(owner.actor, { to: [GERMAN, GERMAN], message: 'two of them' }),
    ).rejects.toThrow(InsufficientFundsError);
  });

  it('charges a repeated Idempotency-Key once', async () => {
    const { owner } = await teamWithPrice(h.services, '1');
    const body = { to: GERMAN, message: 'once' };
    const first = await api.call('POST', '/sms', owner.apiKey, body, { 'idempotency-key': 'owner-1' });
    const again = await api.call('POST', '/sms', owner.apiKey, body, { 'idempotency-key': 'owner-1' });
    expect(again.json.id).toBe(first.json.id);
    expect(again.json.balance).toBe('0.95');
    expect(await masterBalance(owner.actor)).toBe(950_000n);
  });

  it('gets a failed message refunded to the master balance once, even after handing over ownership', async () => {
    const { team, owner, admin } = await teamWithPrice(h.services, '1');
    await h.services.messaging.send(owner.actor, { to: FAILING, message: 'will fail' });
    expect(await masterBalance(owner.actor)).toBe(950_000n);

    // Ownership moves on before the failure is known; the refund still returns to the master balance.
    const handover = await h.services.approvals.request(owner.actor, {
      member: { id: admin.id },
      role: 'owner',
    });
    await h.services.approvals.approve(owner.actor, handover.id);

    await runMessagingJobs(h.orm, h.services.messaging);
    await runMessagingJobs(h.orm, h.services.messaging);
    const [message] = await queryAll<{ id: string }>(
      h.orm.em.fork(),
      "select id::text as id from messages where team_id = ? and status = 'failed'",
      [team.id],
    );
    const repeated = await h.services.messaging.recordProviderReport({
      provider: 'sandbox',
      providerMessageId: (
        await queryAll<{ provider_message_id: string }>(
          h.orm.em.fork(),
          'select provider_message_id from messages where id = ?',
          [message!.id],
        )
      )[0]!.provider_message_id,
      status: 'failed',
    });
    expect(repeated).toBe(false);

    expect(await masterBalance(admin.actor)).toBe(1_000_000n);
    const formerOwner = await h.services.members.show(admin.actor, { id: owner.id });
    expect(formerOwner).toMatchObject({ role: 'admin', balance: 0n });
    const refunds = await queryAll(
      h.orm.em.fork(),
      "select amount::text from transfers where team_id = ? and kind in ('refund', 'master_refund')",
      [team.id],
    );
    expect(refunds).toEqual([{ amount: '50000' }]);
    await expectStatsEqualLog(h.orm, team.id);
  });

  it('a former owner sends from its own sub-account balance again', async () => {
    const { owner, admin } = await teamWithPrice(h.services, '1');
    const handover = await h.services.approvals.request(owner.actor, {
      member: { id: admin.id },
      role: 'owner',
    });
    await h.services.approvals.approve(owner.actor, handover.id);
    await h.services.ledger.credit(admin.actor, { member: { id: owner.id }, amount: '0.2' });

    const r = await api.call('POST', '/sms', owner.apiKey, { to: GERMAN, message: 'as an admin now' });
    expect(r.status).toBe(202);
    expect(r.json.balance).toBe('0.15');
    expect(await masterBalance(admin.actor)).toBe(800_000n);
  });
});

import { describe, expect, it } from 'vitest';
import { memberActor, operator } from '../../src/shared/actor.ts';
import { seedRuntimeTeam, useRuntime } from './runtime-harness.ts';

/**
 * Every change produces exactly one audit event: each posting (top-up, credit, debit,
 * auto-recharge, message charge, refund, close-out, credit limit transfer) one `ledger.<kind>` event naming its
 * transfer, and each other change one event of its own. Runs the real runtime, workers included,
 * so the auto-recharge and the refund happen as in production.
 */
const h = useRuntime({ env: { SMS_SANDBOX_DELAY_MS: '0' } });

async function rows<T>(sql: string, params: unknown[]): Promise<T[]> {
  return h.runtimes[0]!.deps.orm.em.fork().getConnection().execute<T[]>(sql, params);
}

async function eventually<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the audit trail', () => {
  it('has exactly one event for every change, the ledger’s automatic postings included', async () => {
    const { team, owner, services } = await seedRuntimeTeam(h);
    const ownerActor = memberActor(owner.id, 'api');
    await services.ledger.topUp(operator, { teamId: team.id, amount: '100', reference: 'PO-audit' });
    await services.ledger.topUp(operator, { teamId: team.id, amount: '100', reference: 'PO-audit' }); // replay
    const { member: uma } = await services.members.create(ownerActor, {
      name: 'Uma',
      email: 'uma@audit.example',
    });
    const { member: ulf } = await services.members.create(ownerActor, {
      name: 'Ulf',
      email: 'ulf@audit.example',
    });
    const umaActor = memberActor(uma.id, 'api');
    await services.ledger.credit(ownerActor, { member: { id: uma.id }, amount: '10', idempotencyKey: 'c1' });
    await services.ledger.credit(ownerActor, { member: { id: uma.id }, amount: '10', idempotencyKey: 'c1' }); // replay
    await services.ledger.credit(ownerActor, { member: { id: ulf.id }, amount: '3' });
    await services.ledger.debit(ownerActor, { member: { id: uma.id }, amount: '2' });
    await services.autoRecharge.set(ownerActor, { member: { id: uma.id }, threshold: '7.5', amount: '5' });
    await services.messaging.setPrice(operator, { teamId: team.id, prefix: 'default', price: '1' });
    // One charge for both messages: one delivered, one to a number the sandbox always fails (refunded).
    await services.messaging.send(umaActor, { to: ['+4917012345678', '+15005550042'], message: 'audit' });
    await services.teams.setAlerts(ownerActor, { channel: 'C0ALERTS', level: '1' });
    await services.digests.configure(ownerActor, { channel: 'C0DIGEST', frequency: 'daily', time: '09:00' });
    await services.members.rotateKey(ownerActor, { id: ulf.id });
    await services.autoRecharge.off(ownerActor, { id: ulf.id }).catch(() => undefined);
    // Credit limit lent to Ulf returns to the primary account when Ulf is closed: two transfers.
    await services.ledger.setCreditLimit(operator, { teamId: team.id, creditLimit: '50' });
    await services.ledger.transferCreditLimit(ownerActor, {
      member: { id: ulf.id },
      direction: 'to_member',
      amount: '2',
    });

    await eventually(async () => {
      const [done] = await rows<{ n: string }>(
        "select count(*)::text as n from transfers where team_id = ? and kind in ('auto_recharge', 'refund')",
        [team.id],
      );
      return Number(done!.n) >= 2 ? true : undefined;
    }, 'the auto-recharge and the refund');
    await services.members.close(ownerActor, { id: ulf.id });

    const transfers = await rows<{ id: string; kind: string }>(
      'select id::text as id, kind from transfers where team_id = ? order by id',
      [team.id],
    );
    expect(transfers.map((t) => t.kind).sort()).toEqual(
      [
        'auto_recharge',
        'close_out',
        'credit',
        'credit',
        'credit_limit_transfer',
        'credit_limit_transfer',
        'debit',
        'master_topup',
        'message_charge',
        'refund',
      ].sort(),
    );
    const events = await rows<{ action: string; transfer_id: string | null }>(
      "select action, details->>'transferId' as transfer_id from audit_events where team_id = ? order by id",
      [team.id],
    );
    for (const transfer of transfers) {
      expect(events.filter((e) => e.transfer_id === transfer.id)).toEqual([
        { action: `ledger.${transfer.kind}`, transfer_id: transfer.id },
      ]);
    }
    const others = events.filter((e) => e.transfer_id === null).map((e) => e.action);
    expect(others.sort()).toEqual(
      [
        'team.setup',
        'member.created',
        'member.created',
        'autorecharge.set',
        'team.alerts',
        'team.digest',
        'member.key_rotated',
        'team.credit_limit_set',
        'member.closed',
      ].sort(),
    );
  }, 90_000);
});

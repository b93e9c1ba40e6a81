import { describe, expect, it } from 'vitest';
import { operator } from '../../src/shared/actor.ts';
import { seedTeam } from '../helpers/services.ts';
import { useWorkerHarness } from '../helpers/worker-harness.ts';
import { eventually } from '../helpers/workers.ts';
import { expectStatsEqualLog, fund } from './helpers.ts';

const h = useWorkerHarness();

describe('through the outbox, the relay and the messages queue', () => {
  it('sent messages are delivered by the sandbox, a test number fails and is refunded', {
    timeout: 60_000,
  }, async () => {
    const { team, owner, user } = await seedTeam(h.services);
    await h.services.messaging.setPrice(operator, { teamId: team.id, prefix: 'default', price: '0.1' });
    await fund(h.services, owner.actor, user.id, '1');
    const sent = await h.services.messaging.send(user.actor, {
      to: ['+4917012345678', '+15005550007', '+12025550123'],
      message: 'end to end',
    });
    expect(sent.balance).toBe(700_000n);

    const statuses = await eventually(
      async () => {
        const { rows } = await h.sql.query<{ status: string }>(
          'select status from messages where member_id = $1 order by id',
          [user.id],
        );
        const list = rows.map((r) => r.status);
        return list.every((s) => s === 'delivered' || s === 'failed') ? list : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(statuses).toEqual(['delivered', 'failed', 'delivered']);
    const { rows } = await h.sql.query<{ balance: string }>('select balance from members where id = $1', [
      user.id,
    ]);
    expect(rows[0]!.balance).toBe('800000');
    await expectStatsEqualLog(h.orm, team.id);
  });
});

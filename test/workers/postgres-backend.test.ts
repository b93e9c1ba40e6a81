import { describe, expect, it } from 'vitest';
import { seedTeam } from '../helpers/services.ts';
import { useWorkerHarness } from '../helpers/worker-harness.ts';
import { eventually, sleep } from '../helpers/workers.ts';

/** Without REDIS_URL the same workers run on BullMQ's PostgreSQL backend, in the product's database. */
const h = useWorkerHarness({ backend: 'postgres' });

describe('workers on the PostgreSQL queue backend', () => {
  it('runs on the product database when there is no Redis', () => {
    expect(h.config.redisUrl).toBeUndefined();
    expect(h.queues.backend).toBe('postgres');
  });

  it('sends an invitation email and records it', async () => {
    const seeded = await seedTeam(h.services);
    const invitation = await h.services.invitations.invite(seeded.admin.actor, {
      email: 'pg.backend@example.com',
    });
    const email = await h.smtp.waitFor((e) => e.to.includes('pg.backend@example.com'));
    expect(email.subject).toContain(seeded.team.name);
    await eventually(async () => {
      const [listed] = await h.services.invitations.list(seeded.admin.actor);
      return listed?.id === invitation.id && listed.deliveryStatus === 'sent';
    });
  });

  it('recharges once when a debit crosses the threshold, and posts the note to Slack', async () => {
    const seeded = await seedTeam(h.services);
    await h.services.teams.setAlerts(seeded.owner.actor, { channel: 'CPGALERTS' });
    await h.services.ledger.credit(seeded.admin.actor, { member: { id: seeded.user.id }, amount: '10' });
    await h.services.autoRecharge.set(seeded.admin.actor, {
      member: { id: seeded.user.id },
      threshold: '5',
      amount: '20',
    });
    await Promise.all(
      Array.from({ length: 16 }, () =>
        h.services.ledger.debit(seeded.admin.actor, { member: { id: seeded.user.id }, amount: '0.5' }),
      ),
    );
    await h.slack.waitFor('chat.postMessage', (call) => call.args.channel === 'CPGALERTS', 30_000);
    await sleep(1_000);
    const { rows } = await h.sql.query(
      `select amount from transfers where kind = 'auto_recharge' and to_member_id = $1`,
      [seeded.user.id],
    );
    expect(rows).toEqual([{ amount: '20000000' }]);
    expect(
      h.slack.callsTo('chat.postMessage').filter((call) => call.args.channel === 'CPGALERTS'),
    ).toHaveLength(1);
  }, 60_000);
});

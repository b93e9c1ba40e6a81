import { expect } from 'vitest';
import type { Services } from '../../src/app.ts';
import type { JobName } from '../../src/jobs/jobs.ts';
import { createLogger } from '../../src/logger.ts';
import { MessagingService } from '../../src/messaging/messaging.service.ts';
import type { SmsProvider } from '../../src/messaging/providers/provider.ts';
import { SandboxProvider } from '../../src/messaging/providers/sandbox.ts';
import type { Orm } from '../../src/platform/database.ts';
import { queryAll } from '../../src/platform/sql.ts';
import { type Actor, operator } from '../../src/shared/actor.ts';
import { seedTeam } from '../helpers/services.ts';

/** A number the sandbox provider delivers to. */
export const GERMAN = '+4917012345678';
/** The sandbox provider fails every number in this range. */
export const FAILING = '+15005550001';

/** A seeded team whose messages cost 0.05 each, with `masterBalance` on its master balance. */
export async function teamWithPrice(services: Services, masterBalance: string) {
  const seeded = await seedTeam(services, { masterBalance });
  await services.messaging.setPrice(operator, { teamId: seeded.team.id, prefix: 'default', price: '0.05' });
  return seeded;
}

/** A messaging service whose sandbox reports at once, so tests need not wait for deliveries. */
export function instantMessaging(orm: Orm, provider: SmsProvider = new SandboxProvider(0)): MessagingService {
  return new MessagingService(orm, { provider, defaultPrice: 50_000n }, createLogger('silent'));
}

/**
 * Plays the relay and the worker for the messaging jobs: runs every dispatch and status-check
 * job in the outbox (ignoring their delay) until none is left, or only those of one job name.
 * Jobs are claimed by marking them, so two runners racing each other run each job once.
 */
export async function runMessagingJobs(
  orm: Orm,
  messaging: MessagingService,
  only?: Extract<JobName, 'message.dispatch' | 'message.check_status'>,
): Promise<number> {
  const em = orm.em.fork();
  let ran = 0;
  for (;;) {
    const jobs = await queryAll<{
      id: string;
      job: string;
      payload: { messageIds: string[]; attempt?: number };
    }>(
      em,
      `update outbox set dispatched_at = now()
        where id in (select id from outbox where dispatched_at is null and job in (?, ?) order by id for update skip locked)
        returning id::text as id, job, payload`,
      only ? [only, only] : ['message.dispatch', 'message.check_status'],
    );
    if (jobs.length === 0) return ran;
    jobs.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
    for (const job of jobs) {
      if (job.job === 'message.dispatch') await messaging.dispatch(job.payload.messageIds);
      else await messaging.checkStatus(job.payload.messageIds, job.payload.attempt ?? 1);
      ran += 1;
    }
  }
}

/** Gives a member money from the master balance. */
export async function fund(
  services: Services,
  owner: Actor,
  memberId: number,
  amount: string,
): Promise<void> {
  await services.ledger.credit(owner, { member: { id: memberId }, amount });
}

/**
 * The statistics rollup equals an aggregate over the message log, row for row, and the ledger
 * agrees with the log: every charge transfer is the sum of its messages, every refund one message.
 */
export async function expectStatsEqualLog(orm: Orm, teamId: number): Promise<void> {
  const em = orm.em.fork();
  const fromLog = await queryAll(
    em,
    `select member_id, (created_at at time zone 'UTC')::date::text as day, count(*)::text as messages,
            sum(parts)::text as parts, sum(cost)::text as cost,
            coalesce(sum(cost) filter (where refunded_at is not null), 0)::text as refunded,
            count(*) filter (where status = 'delivered')::text as delivered,
            count(*) filter (where status = 'failed')::text as failed
       from messages where team_id = ? group by 1, 2 order by 1, 2`,
    [teamId],
  );
  const rollup = await queryAll(
    em,
    `select member_id, day::text as day, messages::text, parts::text, cost::text, refunded::text,
            delivered::text, failed::text
       from message_stats_daily where team_id = ? order by 1, 2`,
    [teamId],
  );
  expect(rollup).toEqual(fromLog);

  const chargeMismatch = await queryAll(
    em,
    `select t.id, t.amount, sum(m.cost) as messages
       from transfers t left join messages m on m.charge_transfer_id = t.id
      where t.team_id = ? and t.kind in ('message_charge', 'master_message_charge')
      group by t.id having t.amount <> coalesce(sum(m.cost), 0)`,
    [teamId],
  );
  expect(chargeMismatch).toEqual([]);
  const refundMismatch = await queryAll(
    em,
    `select t.id from transfers t left join messages m on m.refund_transfer_id = t.id
      where t.team_id = ? and t.kind in ('refund', 'master_refund') and (m.id is null or m.cost <> t.amount or m.status <> 'failed')`,
    [teamId],
  );
  expect(refundMismatch).toEqual([]);
  const unrefunded = await queryAll(
    em,
    `select id from messages where team_id = ? and status = 'failed' and refund_transfer_id is null`,
    [teamId],
  );
  expect(unrefunded).toEqual([]);
}

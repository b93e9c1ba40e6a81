import { dispatchJob, type JobPayload, routeFor } from '../jobs/jobs.ts';
import type { Orm } from '../platform/database.ts';
import type { QueueJob, Queues } from '../platform/queue.ts';
import { queryOne } from '../platform/sql.ts';
// upward: the digest job hands a finished Slack message to the slack queue; the presenter is pure.
import { digestMessage } from '../slack/presenters/digests.ts';
import { utcDay } from '../stats/stats.service.ts';
import type { DigestFrequency } from './digest.service.ts';
import { buildDigest } from './digest-report.ts';

/** One BullMQ Job Scheduler per team; upserting it is idempotent, so the job may run any number of times. */
export function digestSchedulerId(teamId: number): string {
  return `digest-team-${teamId}`;
}

/** The job scheduler's cron for a setting: daily at HH:MM, or Mondays at HH:MM. */
export function digestCron(frequency: DigestFrequency, time: string): string {
  const [hour, minute] = time.split(':').map(Number);
  return `${minute} ${hour} * * ${frequency === 'weekly' ? '1' : '*'}`;
}

/** The `digest.schedule` job: make the team's scheduler match its settings as they are now. */
export async function syncDigestSchedule(
  orm: Orm,
  queues: Queues,
  payload: JobPayload<'digest.schedule'>,
): Promise<'scheduled' | 'removed'> {
  const team = await queryOne<{
    digest_channel: string | null;
    digest_frequency: DigestFrequency | null;
    digest_time: string | null;
    digest_timezone: string;
  }>(
    orm.em.fork(),
    `select digest_channel, digest_frequency, digest_time, coalesce(digest_timezone, timezone) as digest_timezone
       from teams where id = ?`,
    [payload.teamId],
  );
  const route = routeFor('digest.send');
  if (!team?.digest_channel || !team.digest_frequency || !team.digest_time) {
    await queues.removeSchedule(route.queue, digestSchedulerId(payload.teamId));
    return 'removed';
  }
  await queues.upsertSchedule(
    route.queue,
    digestSchedulerId(payload.teamId),
    { cron: digestCron(team.digest_frequency, team.digest_time), timezone: team.digest_timezone },
    {
      name: 'digest.send',
      data: { teamId: payload.teamId } satisfies JobPayload<'digest.send'>,
      opts: { attempts: route.opts.attempts, backoff: route.opts.backoff },
    },
  );
  return 'scheduled';
}

/**
 * The `digest.send` job the scheduler creates: builds the digest of the period that ended at
 * the scheduled time and posts it. The post's job id is the team and period, so a digest job
 * that runs twice still posts once.
 */
export async function sendDigest(
  orm: Orm,
  queues: Queues,
  payload: JobPayload<'digest.send'>,
  job: Pick<QueueJob, 'scheduledFor'>,
): Promise<'posted' | 'not configured'> {
  // Whole minutes: the scheduled instant, whatever the job's start-up delay.
  const end = new Date(Math.floor(job.scheduledFor / 60_000) * 60_000);
  const report = await buildDigest(orm.em.fork(), payload.teamId, end);
  if (!report) return 'not configured';
  await dispatchJob(
    queues,
    'slack.post',
    { teamId: payload.teamId, ...digestMessage(report) },
    {
      dedupKey: `digest-${payload.teamId}-${end.toISOString()}`,
    },
  );
  // A week is worth a picture (a day's would be one bar): its chart follows the digest, drawn and
  // uploaded by a job of its own, once per team and week like the digest.
  if (report.frequency === 'weekly') {
    await dispatchJob(
      queues,
      'stats.chart',
      {
        teamId: payload.teamId,
        channel: report.channel,
        memberId: null,
        from: utcDay(report.start),
        to: utcDay(new Date(report.end.getTime() - 1)),
        reason: 'digest',
      },
      { dedupKey: `digest-chart-${payload.teamId}-${end.toISOString()}` },
    );
  }
  return 'posted';
}

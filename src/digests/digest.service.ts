import { recordAudit } from '../audit/audit.ts';
import type { JobPayload } from '../jobs/jobs.ts';
import { callerTeam, loadCaller, requireManager } from '../members/access.ts';
import { enqueueJob } from '../outbox/outbox.ts';
import type { Orm } from '../platform/database.ts';
import type { QueueJob, Queues } from '../platform/queue.ts';
import { transact } from '../platform/transactions.ts';
import type { Actor } from '../shared/actor.ts';
import { ValidationError } from '../shared/errors.ts';
import { requireTimezone } from '../shared/validation.ts';
import { loadTeam, requireSlackChannel } from '../teams/team.service.ts';
import { sendDigest, syncDigestSchedule } from './digest-jobs.ts';

export const DIGEST_FREQUENCIES = ['daily', 'weekly'] as const;
export type DigestFrequency = (typeof DIGEST_FREQUENCIES)[number];
/** What a team may ask for: a frequency, or `off`. */
export const DIGEST_SETTINGS = [...DIGEST_FREQUENCIES, 'off'] as const;
export type DigestSetting = (typeof DIGEST_SETTINGS)[number];

export interface DigestSettings {
  teamId: number;
  channel: string | null;
  frequency: DigestFrequency | null;
  /** HH:MM in `timezone`. */
  time: string | null;
  /** The digest's own zone, or the team's when it has none. */
  timezone: string | null;
}

const DEFAULT_TIME = '09:00';

/**
 * `/team digest <#channel> daily|weekly|off [HH:MM] [timezone]`: stores the team's choice and
 * asks (through the outbox, in the same transaction) for the team's job scheduler to be brought
 * in line with it, so the scheduler changes if and only if the setting did.
 */
export class DigestService {
  readonly #orm: Orm;
  constructor(orm: Orm) {
    this.#orm = orm;
  }

  async configure(
    actor: Actor,
    input: {
      channel?: string | null;
      frequency: string;
      time?: string | null;
      timezone?: string | null;
    },
  ): Promise<DigestSettings> {
    const frequency = requireFrequency(input.frequency);
    const channel = frequency === 'off' ? null : requireSlackChannel(input.channel);
    const time = frequency === 'off' ? null : requireTime(input.time);
    // Without a zone of its own the digest follows the team's timezone (`/team timezone`).
    const timezone = frequency === 'off' || !input.timezone?.trim() ? null : requireTimezone(input.timezone);
    return transact(this.#orm.em.fork(), async (tx) => {
      const caller = await loadCaller(tx, actor);
      requireManager(caller, 'set up the digest');
      const team = await loadTeam(tx, callerTeam(caller));
      const before = settingsOf(team);
      team.digestChannel = channel;
      team.digestFrequency = frequency === 'off' ? null : frequency;
      team.digestTime = time;
      team.digestTimezone = timezone;
      await tx.flush();
      await enqueueJob(tx, 'digest.schedule', { teamId: team.id });
      const after = settingsOf(team);
      await recordAudit(tx, {
        teamId: team.id,
        actor: caller.party,
        action: 'team.digest',
        details: { before, after },
      });
      return after;
    });
  }

  async settings(actor: Actor): Promise<DigestSettings> {
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    return settingsOf(await loadTeam(em, callerTeam(caller)));
  }

  /** The `digest.schedule` job: bring the team's job scheduler in line with its settings (digest-jobs.ts). */
  syncSchedule(payload: JobPayload<'digest.schedule'>, queues: Queues): Promise<'scheduled' | 'removed'> {
    return syncDigestSchedule(this.#orm, queues, payload);
  }

  /** The `digest.send` job: post the digest of the period that ended at the scheduled time, once. */
  send(
    payload: JobPayload<'digest.send'>,
    job: Pick<QueueJob, 'scheduledFor'>,
    queues: Queues,
  ): Promise<'posted' | 'not configured'> {
    return sendDigest(this.#orm, queues, payload, job);
  }
}

function settingsOf(team: {
  id: number;
  digestChannel?: string | null;
  digestFrequency?: DigestFrequency | null;
  digestTime?: string | null;
  digestTimezone?: string | null;
  timezone: string;
}): DigestSettings {
  return {
    teamId: team.id,
    channel: team.digestChannel ?? null,
    frequency: team.digestFrequency ?? null,
    time: team.digestTime ?? null,
    timezone: team.digestFrequency ? (team.digestTimezone ?? team.timezone) : null,
  };
}

function requireFrequency(value: string): DigestSetting {
  const frequency = value.trim().toLowerCase();
  const setting = DIGEST_SETTINGS.find((s) => s === frequency);
  if (setting) return setting;
  throw new ValidationError('frequency', 'frequency must be daily, weekly or off');
}

function requireTime(value: string | null | undefined): string {
  const text = value?.trim() || DEFAULT_TIME;
  const match = /^(\d{1,2}):(\d{2})$/.exec(text);
  if (!match || Number(match[1]) > 23 || Number(match[2]) > 59) {
    throw new ValidationError(
      'time',
      `time must be HH:MM on a 24-hour clock, like 09:00, not "${text.slice(0, 20)}"`,
    );
  }
  return `${match[1]!.padStart(2, '0')}:${match[2]}`;
}

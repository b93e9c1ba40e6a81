import type { JobPayload } from '../jobs/jobs.ts';
import { claimJobReceipt, hasJobReceipt } from '../jobs/receipts.ts';
import { isManager, loadCaller } from '../members/access.ts';
import { enqueueJob } from '../outbox/outbox.ts';
import type { Orm } from '../platform/database.ts';
import { queryOne, run } from '../platform/sql.ts';
import { transact } from '../platform/transactions.ts';
import { WorkerThread } from '../platform/worker-thread.ts';
import { type Actor, system } from '../shared/actor.ts';
import { ValidationError } from '../shared/errors.ts';
import { type ChartInput, MAX_CHART_DAYS } from './charts.ts';
import { resolveScope, type StatsFilters, type StatsService } from './stats.service.ts';

export type ChartRequest = JobPayload<'stats.chart'>;

/** A chart drawn for a request, with what Slack shows beside it. */
export interface RenderedChart {
  png: Buffer;
  /** `stats-2026-11-03-2026-12-02.png` */
  filename: string;
  title: string;
  from: string;
  to: string;
  /** What the chart is about: the team, or one member (whose own figures it shows). */
  subject: { kind: 'team' | 'member'; name: string };
  messages: number;
}

/** The team's latest team-wide chart in Slack, for the App Home. */
export interface LatestChart {
  slackFileId: string;
  title: string;
  from: string;
  to: string;
  uploadedAt: Date;
}

/**
 * Statistics as a picture: which chart a request may have (the same rules as the figures),
 * drawing it from the daily rollups through StatsService, and remembering the latest team-wide
 * one. Uploading it is Slack's business (slack/outbound/chart-upload.ts).
 */
export class ChartService {
  readonly #orm: Orm;
  readonly #stats: StatsService;
  /**
   * Drawing takes the best part of a second of CPU: on a thread of its own, it does not hold up
   * the Slack commands and API requests that share the process (`npm start`).
   */
  readonly #drawing = new WorkerThread<ChartInput, Uint8Array>(
    new URL('./chart-thread.ts', import.meta.url),
    'chart drawing',
  );
  constructor(orm: Orm, stats: StatsService) {
    this.#orm = orm;
    this.#stats = stats;
  }

  /**
   * Asks for the chart of `filters` to be posted in `channel` (where `/team stats` was typed):
   * checked as the figures are, then drawn and uploaded by a `stats.chart` job.
   */
  async request(actor: Actor, filters: StatsFilters, channel: string): Promise<ChartRequest> {
    const target = requireConversation(channel);
    return transact(this.#orm.em.fork(), async (tx) => {
      const scope = await resolveScope(tx, actor, filters);
      if (daysBetween(scope.from, scope.to) > MAX_CHART_DAYS)
        throw new ValidationError('to', `a chart covers at most ${MAX_CHART_DAYS} days`);
      const { timezone: _zone, ...days } = scope;
      const request: ChartRequest = { ...days, channel: target, reason: 'stats' };
      await enqueueJob(tx, 'stats.chart', request);
      return request;
    });
  }

  /** Draws the chart a `stats.chart` job asks for (the request was authorized when it was made). */
  async render(request: ChartRequest): Promise<RenderedChart> {
    const view = await this.#stats.query(system, {
      teamId: request.teamId,
      ...(request.memberId !== null && { member: { id: request.memberId } }),
      from: request.from,
      to: request.to,
      groupBy: 'day',
    });
    const names = await queryOne<{ team: string; member: string | null }>(
      this.#orm.em.fork(),
      'select t.name as team, m.name as member from teams t left join members m on m.id = ? and m.team_id = t.id where t.id = ?',
      [request.memberId, request.teamId],
    );
    const subject =
      request.memberId === null
        ? { kind: 'team' as const, name: names?.team ?? `team #${request.teamId}` }
        : { kind: 'member' as const, name: names?.member ?? `member #${request.memberId}` };
    const days = view.team?.days ?? view.members[0]?.days ?? [];
    const title = `${subject.name}: messages and cost`;
    const input: ChartInput = {
      title,
      currency: view.currency,
      from: view.from,
      to: view.to,
      timezone: view.timezone,
      days: days.map((day) => ({ day: day.day, messages: day.messages, cost: day.cost })),
      members: view.members.map((member) => ({
        name: member.name,
        messages: member.messages,
        cost: member.cost,
      })),
    };
    return {
      png: await this.draw(input),
      filename: `stats-${view.from}-${view.to}.png`,
      title,
      from: view.from,
      to: view.to,
      subject,
      messages: days.reduce((sum, day) => sum + day.messages, 0),
    };
  }

  /** The chart of `input` as PNG bytes, drawn on the drawing thread. */
  async draw(input: ChartInput): Promise<Buffer> {
    // The PNG crosses from the thread as a plain Uint8Array.
    const png = await this.#drawing.run(input);
    return Buffer.from(png.buffer, png.byteOffset, png.byteLength);
  }

  /** Ends the drawing thread (with the rest of the app). */
  close(): Promise<void> {
    return this.#drawing.close();
  }

  /** Whether a run of the job with this receipt key already uploaded its chart. */
  wasUploaded(receiptKey: string): Promise<boolean> {
    return hasJobReceipt(this.#orm.em.fork(), receiptKey);
  }

  /**
   * After the upload: the job's receipt, and (for a team-wide chart) the team's latest chart, in
   * one transaction. False when an earlier run of the same job got here first.
   */
  async uploaded(
    request: ChartRequest,
    chart: Pick<RenderedChart, 'title' | 'from' | 'to'>,
    slackFileId: string,
    receiptKey: string,
  ): Promise<boolean> {
    return transact(this.#orm.em.fork(), async (tx) => {
      if (!(await claimJobReceipt(tx, receiptKey))) return false;
      if (request.memberId !== null) return true;
      // Only a newer period replaces the chart on show (a late retry of an old digest does not).
      await run(
        tx,
        `insert into team_charts (team_id, slack_file_id, title, from_day, to_day, uploaded_at)
         values (?, ?, ?, ?::date, ?::date, now())
         on conflict (team_id) do update set slack_file_id = excluded.slack_file_id, title = excluded.title,
           from_day = excluded.from_day, to_day = excluded.to_day, uploaded_at = excluded.uploaded_at
         where team_charts.to_day <= excluded.to_day`,
        [request.teamId, slackFileId, chart.title.slice(0, 200), chart.from, chart.to],
      );
      return true;
    });
  }

  /** The latest team-wide chart, for a manager (it shows every member's figures); null for a user. */
  async latest(actor: Actor): Promise<LatestChart | null> {
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    if (!isManager(caller) || caller.teamId === null) return null;
    const row = await queryOne<{
      slack_file_id: string;
      title: string;
      from_day: string;
      to_day: string;
      uploaded_at: Date;
    }>(
      em,
      'select slack_file_id, title, from_day::text, to_day::text, uploaded_at from team_charts where team_id = ?',
      [caller.teamId],
    );
    return row
      ? {
          slackFileId: row.slack_file_id,
          title: row.title,
          from: row.from_day,
          to: row.to_day,
          uploadedAt: new Date(row.uploaded_at),
        }
      : null;
  }
}

/** A channel, private channel or direct message the command was typed in. */
function requireConversation(value: string): string {
  const text = value.trim();
  if (!/^[CGD][A-Z0-9]{2,30}$/.test(text))
    throw new ValidationError('channel', 'the chart goes to a Slack channel or direct message');
  return text;
}

function daysBetween(from: string, to: string): number {
  return (Date.parse(to) - Date.parse(from)) / 86_400_000 + 1;
}

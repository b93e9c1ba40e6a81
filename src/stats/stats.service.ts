import type { EntityManager } from '@mikro-orm/postgresql';
import { callerTeam, isManager, loadCaller, requireManager } from '../members/access.ts';
import { findMemberView, type MemberRef } from '../members/lookups.ts';
import type { Orm } from '../platform/database.ts';
import { queryAll, queryOne } from '../platform/sql.ts';
import type { Actor } from '../shared/actor.ts';
import { NotFoundError, ValidationError } from '../shared/errors.ts';
import type { Micros } from '../shared/money.ts';

export const PERIODS = ['today', '7d', '30d', 'month'] as const;
export type Period = (typeof PERIODS)[number];
export const GROUPINGS = ['total', 'day'] as const;
export type Grouping = (typeof GROUPINGS)[number];

export interface StatsFilters {
  member?: MemberRef;
  /** First and last day in the team's timezone, YYYY-MM-DD, both included. */
  from?: string | null;
  to?: string | null;
  /** Instead of from/to: today, 7d, 30d (the last 7 or 30 days, today included) or month (this month so far). */
  period?: string | null;
  groupBy?: string | null;
  /** The operator and workers name the team. */
  teamId?: number;
}

export interface StatsTotals {
  messages: number;
  parts: number;
  /** What the messages cost after refunds. */
  cost: Micros;
  /** What was charged when they were sent, and what came back for failed ones. */
  charged: Micros;
  refunded: Micros;
  delivered: number;
  failed: number;
  /** Neither delivered nor failed yet. */
  pending: number;
}

export interface DayStats extends StatsTotals {
  day: string;
}

export interface MemberStats extends StatsTotals {
  memberId: number;
  name: string;
  days?: DayStats[];
}

export interface StatsView {
  teamId: number;
  currency: string;
  /** The team's timezone: the days of `from`, `to` and of each day row. */
  timezone: string;
  from: string;
  to: string;
  groupBy: Grouping;
  /** The whole team, when no member was named and the caller manages the team; otherwise null. */
  team: (StatsTotals & { days?: DayStats[] }) | null;
  /** Members with messages in the range (only the caller, for a user). */
  members: MemberStats[];
}

/** The widest range one request may ask for, which bounds the rows a day-by-day answer has. */
const MAX_DAYS = 3660;
const DAY_MS = 86_400_000;

interface RollupRow {
  member_id: number;
  name: string;
  currency: string;
  day: string | null;
  messages: string;
  parts: string;
  charged: string;
  refunded: string;
  delivered: string;
  failed: string;
}

/**
 * Statistics per member and for the team, read from the daily rollup that the charge and every
 * status change keep up to date, never from the message log. Days are the team's local days of
 * sending (rollups.ts).
 */
export class StatsService {
  readonly #orm: Orm;
  constructor(orm: Orm) {
    this.#orm = orm;
  }

  async query(actor: Actor, filters: StatsFilters = {}, now = new Date()): Promise<StatsView> {
    const groupBy = parseGrouping(filters.groupBy);
    const em = this.#orm.em.fork();
    const { teamId, memberId, from, to, timezone } = await resolveScope(em, actor, filters, now);
    const { currency, rows } = await loadRollups(em, {
      teamId,
      memberId,
      from,
      to,
      byDay: groupBy === 'day',
    });
    const perMember = new Map<number, MemberStats>();
    for (const row of rows) {
      let member = perMember.get(row.memberId);
      if (!member) {
        member = {
          memberId: row.memberId,
          name: row.name,
          ...emptyTotals(),
          ...(groupBy === 'day' && { days: [] }),
        };
        perMember.set(row.memberId, member);
      }
      add(member, row.totals);
      member.days?.push({ day: row.day!, ...row.totals });
    }
    const members = [...perMember.values()].sort(
      (a, b) => b.messages - a.messages || a.memberId - b.memberId,
    );

    // The team line is the whole team, so it is given when the question was about the whole team.
    let totals: StatsView['team'] = null;
    if (memberId === null) {
      totals = emptyTotals();
      for (const member of members) add(totals, member);
      if (groupBy === 'day') totals.days = byDay(rows);
    }
    return { teamId, currency, timezone, from, to, groupBy, team: totals, members };
  }
}

/** What a question is about once checked: the team, one member or all (null), and the days. */
export interface StatsScope {
  teamId: number;
  memberId: number | null;
  from: string;
  to: string;
  /** The team's timezone, whose local days `from` and `to` are. */
  timezone: string;
}

/**
 * Checks who may ask what: a user sees only its own statistics, a manager anyone's in its team,
 * the operator and workers the team they name.
 */
export async function resolveScope(
  em: EntityManager,
  actor: Actor,
  filters: StatsFilters,
  now = new Date(),
): Promise<StatsScope> {
  const caller = await loadCaller(em, actor);
  const teamId = callerTeam(caller, filters.teamId);
  const team = await queryOne<{ timezone: string }>(em, 'select timezone from teams where id = ?', [teamId]);
  if (!team) throw new NotFoundError(`There is no team #${teamId}`);
  const { from, to } = resolveRange(filters, now, team.timezone);
  let memberId: number | null = null;
  const self = caller.kind === 'member' ? caller.member : null;
  if (filters.member && !(self && 'id' in filters.member && filters.member.id === self.id)) {
    const member = await findMemberView(em, teamId, filters.member);
    if (member.id !== self?.id) requireManager(caller, "see other members' statistics");
    memberId = member.id;
  } else if (filters.member || !isManager(caller)) {
    memberId = self!.id;
  }
  return { teamId, memberId, from, to, timezone: team.timezone };
}

interface Rollup {
  memberId: number;
  name: string;
  day: string | null;
  totals: StatsTotals;
}

/** The rollup rows asked for, summed per member (and day), with the team's currency. */
async function loadRollups(
  em: EntityManager,
  q: { teamId: number; memberId: number | null; from: string; to: string; byDay: boolean },
): Promise<{ currency: string; rows: Rollup[] }> {
  const rows = await queryAll<RollupRow>(
    em,
    `select s.member_id, mb.name, t.currency, ${q.byDay ? 's.day::text' : 'null::text'} as day,
            sum(s.messages) as messages, sum(s.parts) as parts, sum(s.cost) as charged,
            sum(s.refunded) as refunded, sum(s.delivered) as delivered, sum(s.failed) as failed
       from message_stats_daily s
       join members mb on mb.id = s.member_id
       join teams t on t.id = s.team_id
      where s.team_id = ? ${q.memberId === null ? '' : 'and s.member_id = ?'} and s.day between ?::date and ?::date
      group by s.member_id, mb.name, t.currency ${q.byDay ? ', s.day' : ''}
      order by s.member_id ${q.byDay ? ', s.day' : ''}`,
    [q.teamId, ...(q.memberId === null ? [] : [q.memberId]), q.from, q.to],
  );
  let currency = rows[0]?.currency;
  if (!currency) {
    const team = await queryOne<{ currency: string }>(em, 'select currency from teams where id = ?', [
      q.teamId,
    ]);
    if (!team) throw new NotFoundError(`There is no team #${q.teamId}`);
    currency = team.currency;
  }
  return {
    currency,
    rows: rows.map((r) => {
      const messages = Number(r.messages);
      const delivered = Number(r.delivered);
      const failed = Number(r.failed);
      const charged = BigInt(r.charged);
      const refunded = BigInt(r.refunded);
      return {
        memberId: r.member_id,
        name: r.name,
        day: r.day,
        totals: {
          messages,
          parts: Number(r.parts),
          cost: charged - refunded,
          charged,
          refunded,
          delivered,
          failed,
          pending: messages - delivered - failed,
        },
      };
    }),
  };
}

function emptyTotals(): StatsTotals {
  return { messages: 0, parts: 0, cost: 0n, charged: 0n, refunded: 0n, delivered: 0, failed: 0, pending: 0 };
}

function add(into: StatsTotals, t: StatsTotals): void {
  into.messages += t.messages;
  into.parts += t.parts;
  into.cost += t.cost;
  into.charged += t.charged;
  into.refunded += t.refunded;
  into.delivered += t.delivered;
  into.failed += t.failed;
  into.pending += t.pending;
}

function byDay(rows: readonly Rollup[]): DayStats[] {
  const days = new Map<string, DayStats>();
  for (const row of rows) {
    let day = days.get(row.day!);
    if (!day) {
      day = { day: row.day!, ...emptyTotals() };
      days.set(row.day!, day);
    }
    add(day, row.totals);
  }
  return [...days.values()].sort((a, b) => a.day.localeCompare(b.day));
}

function parseGrouping(value: string | null | undefined): Grouping {
  if (value === undefined || value === null || value === '') return 'total';
  if (!(GROUPINGS as readonly string[]).includes(value))
    throw new ValidationError('group_by', `group_by must be ${GROUPINGS.join(' or ')}`);
  return value as Grouping;
}

/** The days a period covers in the team's timezone, today included. */
export function periodRange(
  period: string,
  now = new Date(),
  timezone = 'UTC',
): { from: string; to: string } {
  const today = localDay(now, timezone);
  switch (period) {
    case 'today':
      return { from: today, to: today };
    case '7d':
      return { from: daysBefore(today, 6), to: today };
    case '30d':
      return { from: daysBefore(today, 29), to: today };
    case 'month':
      return { from: `${today.slice(0, 8)}01`, to: today };
    default:
      throw new ValidationError('period', `period must be one of ${PERIODS.join(', ')}`);
  }
}

function resolveRange(filters: StatsFilters, now: Date, timezone: string): { from: string; to: string } {
  if (filters.period) {
    if (filters.from || filters.to)
      throw new ValidationError('period', 'give either period or from/to, not both');
    return periodRange(filters.period, now, timezone);
  }
  const defaults = periodRange('30d', now, timezone);
  const from = filters.from ? parseDay(filters.from, 'from') : defaults.from;
  const to = filters.to ? parseDay(filters.to, 'to') : defaults.to;
  if (from > to) throw new ValidationError('to', 'to must not be before from');
  if ((Date.parse(to) - Date.parse(from)) / DAY_MS + 1 > MAX_DAYS)
    throw new ValidationError('from', `the range may span at most ${MAX_DAYS} days`);
  return { from, to };
}

function parseDay(value: string, field: string): string {
  const text = value.trim();
  const date = new Date(`${text}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text) || Number.isNaN(date.getTime()) || utcDay(date) !== text)
    throw new ValidationError(field, `${field} must be a date like 2026-11-24`);
  return text;
}

export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** The calendar day of an instant in a timezone, YYYY-MM-DD (the en-CA format is ISO-like). */
export function localDay(date: Date, timezone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(date);
}

/** A calendar day `days` before another (calendar arithmetic: no timezone involved). */
function daysBefore(day: string, days: number): string {
  return utcDay(new Date(Date.parse(`${day}T00:00:00Z`) - days * DAY_MS));
}

import type { EntityManager } from '@mikro-orm/postgresql';
import { callerTeam, isManager, loadCaller, requireManager } from '../members/access.ts';
import { findMemberView, type MemberRef } from '../members/lookups.ts';
import type { Orm } from '../platform/database.ts';
import { queryAll, queryOne, streamRows } from '../platform/sql.ts';
import type { Actor } from '../shared/actor.ts';
import { NotFoundError, ValidationError } from '../shared/errors.ts';
import { requireValidText } from '../shared/text.ts';
import { startOfLocalDay } from '../shared/zoned-time.ts';
import { teamTimezone } from '../teams/team.service.ts';
import { MESSAGE_STATUSES, type MessageStatus } from './message.entity.ts';
import { toE164 } from './phone.ts';
import { teamCurrency } from './price-list.ts';
import type { MessagePage, MessageRow, MessageView } from './views.ts';
import { toMessageView } from './views.ts';

/** The message log: search with filters and a cursor, and one message, as the caller may see them. */
export interface LogFilters {
  /** A manager may name any member of the team; a user sees only its own messages anyway. */
  member?: MemberRef;
  status?: string | null;
  recipient?: string | null;
  /** YYYY-MM-DD (UTC, inclusive) or an ISO timestamp. */
  from?: string | Date | null;
  to?: string | Date | null;
  /** Text the message contains (case-insensitive). */
  contains?: string | null;
  cursor?: string | null;
  limit?: number | string | null;
  /** The operator names the team. */
  teamId?: number;
}

const LOG_PAGE_DEFAULT = 50;
const LOG_PAGE_MAX = 200;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const LOG_COLUMNS = `m.id::text as id, m.member_id, mb.name as member_name, m.recipient, m.body, m.sender_id,
  m.encoding, m.parts, m.unit_price, m.cost, m.status, m.error, m.refunded_at, m.created_at, m.sent_at, m.finished_at`;
const EARLIEST = new Date('1970-01-01T00:00:00Z');
const LATEST = new Date('9999-12-31T00:00:00Z');

export class MessageLog {
  readonly #orm: Orm;

  constructor(orm: Orm) {
    this.#orm = orm;
  }

  /** The message log, newest first: managers see the whole team, a user only its own messages. */
  async search(actor: Actor, filters: LogFilters = {}): Promise<MessagePage> {
    const em = this.#orm.em.fork();
    const { teamId, where, params } = await this.#matching(em, actor, filters);
    if (filters.cursor) {
      where.push('m.id < ?');
      params.push(decodeCursor(filters.cursor));
    }
    const limit = parseLimit(filters.limit);
    const rows = await queryAll<MessageRow>(
      em,
      `select ${LOG_COLUMNS}
         from messages m join members mb on mb.id = m.member_id
        where ${where.join(' and ')}
        order by m.id desc
        limit ?`,
      [...params, limit + 1],
    );
    const currency = await teamCurrency(em, teamId);
    const page = rows.slice(0, limit).map(toMessageView);
    return {
      items: page,
      nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null,
      currency,
    };
  }

  /**
   * Every message `search` would find with these filters, oldest first, read through a database
   * cursor in batches as the consumer takes them (statements of any length). Who may see what, and the
   * filters, are checked before this resolves.
   */
  async statement(
    actor: Actor,
    filters: Omit<LogFilters, 'cursor' | 'limit'> = {},
  ): Promise<{ currency: string; messages: AsyncIterable<MessageView[]> }> {
    const em = this.#orm.em.fork();
    const { teamId, where, params } = await this.#matching(em, actor, filters);
    const currency = await teamCurrency(em, teamId);
    const sql = `select ${LOG_COLUMNS}
         from messages m join members mb on mb.id = m.member_id
        where ${where.join(' and ')}
        order by m.id`;
    return { currency, messages: streamRows(em, sql, params, toMessageView) };
  }

  /** The team, and the conditions on `messages m` that the caller's rights and the filters make. */
  async #matching(
    em: EntityManager,
    actor: Actor,
    filters: LogFilters,
  ): Promise<{ teamId: number; where: string[]; params: unknown[] }> {
    const caller = await loadCaller(em, actor);
    const teamId = callerTeam(caller, filters.teamId);
    let memberId: number | null = null;
    if (filters.member) {
      const member = await findMemberView(em, teamId, filters.member);
      if (caller.kind !== 'member' || member.id !== caller.member.id)
        requireManager(caller, "see other members' messages");
      memberId = member.id;
    } else if (!isManager(caller)) {
      memberId = caller.member!.id;
    }

    const where = ['m.team_id = ?'];
    const params: unknown[] = [teamId];
    if (memberId !== null) {
      where.push('m.member_id = ?');
      params.push(memberId);
    }
    if (filters.status) {
      where.push('m.status = ?');
      params.push(parseStatus(filters.status));
    }
    if (filters.recipient) {
      where.push('m.recipient = ?');
      params.push(toE164(filters.recipient, 'recipient'));
    }
    const range = parseRange(
      filters.from,
      filters.to,
      filters.from || filters.to ? await teamTimezone(em, teamId) : 'UTC',
    );
    if (range.from) {
      where.push('m.created_at >= ?');
      params.push(range.from);
    }
    if (range.to) {
      where.push('m.created_at < ?');
      params.push(range.to);
    }
    if (filters.contains) {
      const text = requireValidText(String(filters.contains), 'contains');
      if (text.length > 160) throw new ValidationError('contains', 'contains must be at most 160 characters');
      where.push("m.body ilike ? escape '\\'");
      params.push(`%${text.replace(/[\\%_]/g, '\\$&')}%`);
    }
    return { teamId, where, params };
  }

  /** One message of the caller's team (a user: only its own). */
  async get(actor: Actor, id: string): Promise<MessageView> {
    if (!/^\d{1,18}$/.test(id)) throw new ValidationError('id', 'id must be a message id');
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    const teamId = callerTeam(caller);
    const row = await queryOne<MessageRow>(
      em,
      `select ${LOG_COLUMNS}
         from messages m join members mb on mb.id = m.member_id
        where m.id = ? and m.team_id = ?`,
      [id, teamId],
    );
    if (!row || (!isManager(caller) && row.member_id !== caller.member!.id))
      throw new NotFoundError(`There is no message ${id}`);
    return toMessageView(row);
  }
}

function parseStatus(value: string): MessageStatus {
  const status = value.trim().toLowerCase();
  if (!(MESSAGE_STATUSES as readonly string[]).includes(status))
    throw new ValidationError('status', `status must be one of ${MESSAGE_STATUSES.join(', ')}`);
  return status as MessageStatus;
}

/**
 * A date alone means the whole day in the team's time zone (`timeZone`; UTC when not given):
 * `from` its start, `to` up to the next day's start. A timestamp is taken as it is.
 */
export function parseRange(
  from: string | Date | null | undefined,
  to: string | Date | null | undefined,
  timeZone = 'UTC',
): { from: Date | null; to: Date | null } {
  const start = from ? parseInstant(from, 'from', false, timeZone) : null;
  const end = to ? parseInstant(to, 'to', true, timeZone) : null;
  if (start && end && start >= end) throw new ValidationError('to', 'to must be after from');
  return { from: start, to: end };
}

function parseInstant(value: string | Date, field: string, endOfDay: boolean, timeZone: string): Date {
  if (value instanceof Date) return value;
  const text = value.trim();
  const day = DAY.test(text);
  let date = new Date(day ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(date.getTime()) || (day && date.toISOString().slice(0, 10) !== text))
    throw new ValidationError(field, `${field} must be a date like 2026-11-24 or an ISO timestamp`);
  if (day) {
    if (endOfDay) date.setUTCDate(date.getUTCDate() + 1);
    date = startOfLocalDay(date.toISOString().slice(0, 10), timeZone);
  }
  // PostgreSQL reads the ISO text of a Date; years past 9999 are written "+010000-…", which it refuses.
  if (date < EARLIEST || date > LATEST)
    throw new ValidationError(field, `${field} must be between 1970-01-01 and 9999-12-30`);
  return date;
}

function parseLimit(value: number | string | null | undefined): number {
  if (value === undefined || value === null || value === '') return LOG_PAGE_DEFAULT;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > LOG_PAGE_MAX)
    throw new ValidationError('limit', `limit must be a whole number from 1 to ${LOG_PAGE_MAX}`);
  return n;
}

function encodeCursor(id: string): string {
  return Buffer.from(`m${id}`).toString('base64url');
}

function decodeCursor(cursor: string): string {
  const decoded = Buffer.from(cursor, 'base64url').toString();
  if (!/^m\d{1,18}$/.test(decoded))
    throw new ValidationError('cursor', 'cursor is not one this API gave out');
  return decoded.slice(1);
}

import type { EntityManager } from '@mikro-orm/postgresql';
import type { SmsConfig } from '../config.ts';
import { isIdempotencyRace } from '../ledger/postings.ts';
import type { Logger } from '../logger.ts';
import {
  callerTeam,
  findMemberView,
  isManager,
  loadCaller,
  type MemberRef,
  requireManager,
} from '../members/access.ts';
import { enqueueJob } from '../outbox/outbox.ts';
import type { Orm } from '../platform/database.ts';
import { queryAll, queryOne } from '../platform/sql.ts';
import type { Actor } from '../shared/actor.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../shared/errors.ts';
import { type Micros, parseAmount } from '../shared/money.ts';
import { requireValidText } from '../shared/text.ts';
import { WriteCombiner } from '../shared/write-combiner.ts';
import { type ChargeRequest, chargeBatch } from './charging.ts';
import { MESSAGE_CHECK_JOB } from './jobs.ts';
import { MESSAGE_STATUSES, type MessageStatus } from './message.entity.ts';
import { type FinalStatus, type Outcome, recordOutcomes } from './outcomes.ts';
import { toE164 } from './phone.ts';
import { DEFAULT_PREFIX, loadPriceEntries, type PriceEntry, parsePrefix } from './pricing.ts';
import { createProvider } from './providers/index.ts';
import { type DeliveryReport, ProviderUnavailableError, type SmsProvider } from './providers/provider.ts';
import { parseSendInput, type SendInput } from './send-request.ts';
import type { MessagePage, MessageRow, MessageView, SendResult } from './views.ts';
import { toMessageView } from './views.ts';

export interface MessagingSettings {
  provider: SmsProvider;
  /** Price per part where a team has set neither a matching prefix nor a default. */
  defaultPrice: Micros;
}

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

export interface PriceListView {
  teamId: number;
  currency: string;
  /** The team's own default; null when the product default applies. */
  defaultPrice: Micros | null;
  productDefaultPrice: Micros;
  prices: PriceEntry[];
}

export interface DispatchSummary {
  sent: number;
  failed: number;
  /** Left queued because the provider was unavailable: the job is retried for them. */
  retry: number;
}

/** Charged batches hold at most this many messages, which bounds one transaction's size. */
const MAX_MESSAGES_PER_CHARGE = 1000;
const LOG_PAGE_DEFAULT = 50;
const LOG_PAGE_MAX = 200;
/** Provider calls in flight per dispatch job. */
const DISPATCH_CONCURRENCY = 8;

export class MessagingService {
  readonly #orm: Orm;
  readonly #settings: MessagingSettings;
  readonly #logger: Logger;
  readonly #charges: WriteCombiner<number, ChargeRequest, SendResult>;

  constructor(orm: Orm, settings: MessagingSettings, logger: Logger) {
    this.#orm = orm;
    this.#settings = settings;
    this.#logger = logger.child({ component: 'messaging' });
    const charge = (memberId: number, batch: ChargeRequest[]) =>
      chargeBatch(this.#orm.em.fork(), memberId, batch, {
        provider: this.#settings.provider.name,
        productDefaultPrice: this.#settings.defaultPrice,
      });
    this.#charges = new WriteCombiner(
      async (memberId, batch) => {
        try {
          return await charge(memberId, batch);
        } catch (error) {
          // Another process committed the same idempotency key a moment ago: now it is visible.
          if (isIdempotencyRace(error)) return charge(memberId, batch);
          throw error;
        }
      },
      { maxWeight: MAX_MESSAGES_PER_CHARGE, weight: (r) => r.recipients.length },
    );
  }

  /**
   * Sends one text to one or many recipients from the caller's own sub-account: all of them are
   * charged, or none (InsufficientFundsError) when the balance does not cover them all. Concurrent
   * sends of one member are charged together in one transaction (see WriteCombiner).
   */
  async send(actor: Actor, input: SendInput): Promise<SendResult> {
    if (actor.kind !== 'member')
      throw new ForbiddenError('Messages are sent by a member, with its own API key');
    const request = parseSendInput(input);
    return this.#charges.submit(actor.memberId, { ...request, memberId: actor.memberId, via: actor.via });
  }

  /** The message log, newest first: managers see the whole team, a user only its own messages. */
  async searchLog(actor: Actor, filters: LogFilters = {}): Promise<MessagePage> {
    const em = this.#orm.em.fork();
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
    const range = parseRange(filters.from, filters.to);
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
    if (filters.cursor) {
      where.push('m.id < ?');
      params.push(decodeCursor(filters.cursor));
    }
    const limit = parseLimit(filters.limit);
    const rows = await queryAll<MessageRow>(
      em,
      `select m.id::text as id, m.member_id, mb.name as member_name, m.recipient, m.body, m.sender_id, m.encoding,
              m.parts, m.unit_price, m.cost, m.status, m.error, m.refunded_at, m.created_at, m.sent_at, m.finished_at
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

  /** One message of the caller's team (a user: only its own). */
  async getMessage(actor: Actor, id: string): Promise<MessageView> {
    if (!/^\d{1,18}$/.test(id)) throw new ValidationError('id', 'id must be a message id');
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    const teamId = callerTeam(caller);
    const row = await queryOne<MessageRow>(
      em,
      `select m.id::text as id, m.member_id, mb.name as member_name, m.recipient, m.body, m.sender_id, m.encoding,
              m.parts, m.unit_price, m.cost, m.status, m.error, m.refunded_at, m.created_at, m.sent_at, m.finished_at
         from messages m join members mb on mb.id = m.member_id
        where m.id = ? and m.team_id = ?`,
      [id, teamId],
    );
    if (!row || (!isManager(caller) && row.member_id !== caller.member!.id))
      throw new NotFoundError(`There is no message ${id}`);
    return toMessageView(row);
  }

  /** Sets the price per part for numbers starting with `prefix` ("default" for all others). Operator only. */
  async setPrice(
    actor: Actor,
    input: { teamId: number; prefix: unknown; price: unknown },
  ): Promise<{ prefix: string; price: Micros; previous: Micros | null }> {
    if (actor.kind === 'member') throw new ForbiddenError('Prices are set by the operator');
    const prefix = parsePrefix(input.prefix);
    const price = parseAmount(input.price, 'price');
    const em = this.#orm.em.fork();
    await teamCurrency(em, input.teamId);
    const row = await queryOne<{ previous: string | null }>(
      em,
      `with before as (select price from message_prices where team_id = ? and prefix = ?)
       insert into message_prices as p (team_id, prefix, price, created_at, updated_at)
       values (?, ?, ?, now(), now())
       on conflict (team_id, prefix) do update set price = excluded.price, updated_at = now()
       returning (select price from before)::text as previous`,
      [input.teamId, prefix, input.teamId, prefix, price],
    );
    return { prefix, price, previous: row?.previous ? BigInt(row.previous) : null };
  }

  /** The team's price list: the operator names a team, members see their own team's. */
  async listPrices(actor: Actor, input: { teamId?: number } = {}): Promise<PriceListView> {
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    const teamId = callerTeam(caller, input.teamId);
    const currency = await teamCurrency(em, teamId);
    const entries = await loadPriceEntries(em, teamId);
    return {
      teamId,
      currency,
      defaultPrice: entries.find((e) => e.prefix === DEFAULT_PREFIX)?.price ?? null,
      productDefaultPrice: this.#settings.defaultPrice,
      prices: entries.filter((e) => e.prefix !== DEFAULT_PREFIX),
    };
  }

  /**
   * Job handler: hands the still-queued messages to the provider, marks them sent (or failed and
   * refunded when the provider refuses them) and schedules the first status check. Throws when
   * some could not be handed over, so the job is retried for those only; on the job's last
   * attempt those fail and are refunded instead of waiting forever.
   */
  async dispatch(messageIds: readonly string[], { lastAttempt = false } = {}): Promise<DispatchSummary> {
    const em = this.#orm.em.fork();
    const provider = this.#settings.provider;
    const queued = await queryAll<{ id: string; recipient: string; body: string; sender_id: string | null }>(
      em,
      `select id::text as id, recipient, body, sender_id from messages
        where id = any(array(select jsonb_array_elements_text(?::jsonb)::bigint)) and status = 'queued'
        order by id`,
      [JSON.stringify(messageIds)],
    );
    const accepted: { id: string; providerMessageId: string }[] = [];
    const refused: Outcome[] = [];
    let retry = 0;
    await forEachLimited(queued, DISPATCH_CONCURRENCY, async (m) => {
      try {
        const outcome = await provider.send({
          id: m.id,
          to: m.recipient,
          text: m.body,
          senderId: m.sender_id,
        });
        if (outcome.accepted) accepted.push({ id: m.id, providerMessageId: outcome.providerMessageId });
        else refused.push({ messageId: m.id, status: 'failed', error: outcome.error });
      } catch (error) {
        if (!(error instanceof ProviderUnavailableError)) throw error;
        if (lastAttempt) {
          refused.push({ messageId: m.id, status: 'failed', error: `not sent: ${error.message}` });
          return;
        }
        retry += 1;
        this.#logger.warn({ messageId: m.id, err: error }, 'provider unavailable; message stays queued');
      }
    });

    await em.transactional(async (tx) => {
      const sentIds = await markSent(tx, provider.name, accepted);
      await recordOutcomes(tx, refused);
      if (sentIds.length > 0) await this.#scheduleCheck(tx, sentIds, 1);
    });
    if (retry > 0)
      throw new ProviderUnavailableError(`${retry} message(s) could not be handed to ${provider.name}`);
    return { sent: accepted.length, failed: refused.length, retry };
  }

  /**
   * Job handler: asks the provider about sent messages, records the final ones and checks the
   * rest again later, until the provider's patience runs out.
   */
  async checkStatus(
    messageIds: readonly string[],
    attempt: number,
  ): Promise<{ finished: number; pending: number }> {
    const em = this.#orm.em.fork();
    const provider = this.#settings.provider;
    const sent = await queryAll<{
      id: string;
      recipient: string;
      provider_message_id: string;
      sent_at: string | Date;
    }>(
      em,
      `select id::text as id, recipient, provider_message_id, sent_at from messages
        where id = any(array(select jsonb_array_elements_text(?::jsonb)::bigint)) and status = 'sent'
        order by id`,
      [JSON.stringify(messageIds)],
    );
    const finals: Outcome[] = [];
    const pending: string[] = [];
    await forEachLimited(sent, DISPATCH_CONCURRENCY, async (m) => {
      let report: DeliveryReport;
      try {
        report = await provider.checkStatus({
          providerMessageId: m.provider_message_id,
          to: m.recipient,
          sentAt: new Date(m.sent_at),
        });
      } catch (error) {
        if (!(error instanceof ProviderUnavailableError)) throw error;
        report = { status: 'sent' };
      }
      if (report.status === 'sent') pending.push(m.id);
      else
        finals.push({
          messageId: m.id,
          status: report.status,
          error: report.status === 'failed' ? report.error : null,
        });
    });
    await em.transactional(async (tx) => {
      await recordOutcomes(tx, finals);
      if (pending.length === 0) return;
      if (attempt < provider.maxStatusChecks) await this.#scheduleCheck(tx, pending, attempt + 1);
      else this.#logger.warn({ messageIds: pending, attempt }, 'no final delivery report; giving up asking');
    });
    return { finished: finals.length, pending: pending.length };
  }

  /**
   * A delivery report pushed by a provider (a webhook), by the provider's message id. Reports
   * that repeat or come after a final status change nothing, nor does `sent` (a message has a
   * provider id only once it was marked sent); returns whether this one changed something. An
   * id no message was sent as is a NotFoundError.
   */
  async recordProviderReport(report: {
    provider: string;
    providerMessageId: string;
    status: FinalStatus | 'sent';
    error?: string | null;
  }): Promise<boolean> {
    const em = this.#orm.em.fork();
    return em.transactional(async (tx) => {
      const row = await queryOne<{ id: string }>(
        tx,
        'select id::text as id from messages where provider = ? and provider_message_id = ?',
        [report.provider, report.providerMessageId],
      );
      if (!row)
        throw new NotFoundError(
          `No message was sent through ${report.provider} as ${report.providerMessageId}`,
        );
      if (report.status === 'sent') return false;
      const changed = await recordOutcomes(tx, [
        { messageId: row.id, status: report.status, error: report.error },
      ]);
      return changed > 0;
    });
  }

  async #scheduleCheck(tx: EntityManager, messageIds: readonly string[], attempt: number): Promise<void> {
    await enqueueJob(
      tx,
      MESSAGE_CHECK_JOB,
      { messageIds, attempt },
      {
        delayMs: this.#settings.provider.statusCheckDelayMs(attempt),
        dedupKey: `message-check-${messageIds[0]}-${attempt}`,
      },
    );
  }
}

async function markSent(
  tx: EntityManager,
  provider: string,
  accepted: readonly { id: string; providerMessageId: string }[],
): Promise<string[]> {
  if (accepted.length === 0) return [];
  const rows = await queryAll<{ id: string }>(
    tx,
    `update messages m set status = 'sent', provider = ?, provider_message_id = a.pid, sent_at = now()
       from jsonb_to_recordset(?::jsonb) as a(id bigint, pid text)
      where m.id = a.id and m.status = 'queued'
      returning m.id::text as id`,
    [provider, JSON.stringify(accepted.map((a) => ({ id: a.id, pid: a.providerMessageId })))],
  );
  return rows.map((r) => r.id).sort((a, b) => Number(BigInt(a) - BigInt(b)));
}

async function teamCurrency(em: EntityManager, teamId: number): Promise<string> {
  const team = await queryOne<{ currency: string }>(em, 'select currency from teams where id = ?', [teamId]);
  if (!team) throw new NotFoundError(`There is no team #${teamId}`);
  return team.currency;
}

function parseStatus(value: string): MessageStatus {
  const status = value.trim().toLowerCase();
  if (!(MESSAGE_STATUSES as readonly string[]).includes(status))
    throw new ValidationError('status', `status must be one of ${MESSAGE_STATUSES.join(', ')}`);
  return status as MessageStatus;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const EARLIEST = new Date('1970-01-01T00:00:00Z');
const LATEST = new Date('9999-12-31T00:00:00Z');

/** A date alone means the whole UTC day: `from` its start, `to` up to the next day's start. */
export function parseRange(
  from: string | Date | null | undefined,
  to: string | Date | null | undefined,
): { from: Date | null; to: Date | null } {
  const start = from ? parseInstant(from, 'from', false) : null;
  const end = to ? parseInstant(to, 'to', true) : null;
  if (start && end && start >= end) throw new ValidationError('to', 'to must be after from');
  return { from: start, to: end };
}

function parseInstant(value: string | Date, field: string, endOfDay: boolean): Date {
  if (value instanceof Date) return value;
  const text = value.trim();
  const date = new Date(DAY.test(text) ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(date.getTime()) || (DAY.test(text) && date.toISOString().slice(0, 10) !== text))
    throw new ValidationError(field, `${field} must be a date like 2026-11-24 or an ISO timestamp`);
  if (DAY.test(text) && endOfDay) date.setUTCDate(date.getUTCDate() + 1);
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

/** Runs `fn` over the items with at most `limit` in flight. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(lanes);
}

/** The service's settings from the process configuration: which provider, and the product's default price. */
export function messagingSettings(sms: SmsConfig, logger: Logger): MessagingSettings {
  return {
    provider: createProvider(sms, logger),
    defaultPrice: parseAmount(sms.defaultPrice, 'SMS_DEFAULT_PRICE'),
  };
}

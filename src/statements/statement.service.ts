import { Readable } from 'node:stream';
import { csvFormatRow } from 'd3-dsv';
import { recordAudit } from '../audit/audit.ts';
import { type LedgerService, STATEMENT_TRANSFER_FIELDS } from '../ledger/ledger.service.ts';
import { loadCaller } from '../members/access.ts';
import type { MemberRef } from '../members/lookups.ts';
import type { MessagingService } from '../messaging/messaging.service.ts';
import type { MessageView } from '../messaging/views.ts';
import { enqueueJob } from '../outbox/outbox.ts';
import type { Orm } from '../platform/database.ts';
import { transact } from '../platform/transactions.ts';
import type { Actor } from '../shared/actor.ts';
import { ForbiddenError } from '../shared/errors.ts';
import { microsToDecimal } from '../shared/money.ts';

/**
 * Statements: the transfers or the message log as CSV, for the API (`GET /transfers.csv`,
 * `/messages.csv`) and `/team export`. The rows are the JSON lists' rows, with the same field names,
 * the members' names beside their ids, oldest first; amounts are decimal strings in the team's
 * currency. The ledger and the message log decide who sees what, as they do for the lists.
 */

export const STATEMENT_KINDS = ['transfers', 'messages'] as const;
export type StatementKind = (typeof STATEMENT_KINDS)[number];

export interface StatementFilters {
  /** Only this member's rows; a user sees only its own anyway. */
  member?: MemberRef | null;
  /** YYYY-MM-DD (the whole day, inclusive) or an ISO timestamp, as the message log takes them. */
  from?: string | Date | null;
  to?: string | Date | null;
  /** Messages only: the message log's other filters. */
  status?: string | null;
  recipient?: string | null;
  contains?: string | null;
}

export interface Statement {
  /** UTF-8 CSV, RFC 4180 (CRLF line ends, quotes where needed), a header row first; one chunk per batch of rows. */
  csv: Readable;
  /** Data rows written so far (the header not counted): the total once `csv` has ended. */
  rowCount(): number;
}

type Column<T> = readonly [header: string, value: (row: T) => string | number | boolean | null];

const MESSAGE_COLUMNS: readonly Column<MessageView>[] = [
  ['id', (m) => m.id],
  ['member_id', (m) => m.memberId],
  ['member_name', (m) => m.memberName],
  ['to', (m) => m.to],
  ['message', (m) => m.message],
  ['sender_id', (m) => m.senderId],
  ['encoding', (m) => m.encoding],
  ['parts', (m) => m.parts],
  ['unit_price', (m) => microsToDecimal(m.unitPrice)],
  ['cost', (m) => microsToDecimal(m.cost)],
  ['status', (m) => m.status],
  ['error', (m) => m.error],
  ['refunded', (m) => m.refunded],
  ['created_at', (m) => m.createdAt.toISOString()],
  ['sent_at', (m) => m.sentAt?.toISOString() ?? null],
  ['finished_at', (m) => m.finishedAt?.toISOString() ?? null],
];

/** The header row of each kind: the JSON lists' field names. */
export const STATEMENT_HEADERS: Record<StatementKind, string[]> = {
  transfers: [...STATEMENT_TRANSFER_FIELDS],
  messages: MESSAGE_COLUMNS.map(([header]) => header),
};

/** The columns whose text people, API clients or providers wrote: names, reasons, bodies, errors. */
const FREE_TEXT_COLUMNS: Record<StatementKind, readonly number[]> = {
  transfers: ['from_member_name', 'to_member_name', 'reason'].map((c) =>
    STATEMENT_HEADERS.transfers.indexOf(c),
  ),
  messages: ['member_name', 'message', 'sender_id', 'error'].map((c) =>
    STATEMENT_HEADERS.messages.indexOf(c),
  ),
};

/**
 * A spreadsheet that opens the file runs a cell beginning with =, +, -, @, a tab or a carriage
 * return as a formula (CSV injection: a message body `=HYPERLINK(…)` would run on the admin's
 * machine). Such free text gets a leading apostrophe, OWASP's advice: spreadsheets then show it as
 * text. Amounts, phone numbers and ids are the product's own and stay as they are.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

export interface ExportRequest {
  kind: StatementKind;
  member?: MemberRef | null;
  /** YYYY-MM-DD, both days included. */
  from?: string | null;
  to?: string | null;
  /** The Slack user whose direct message with the app gets the file. */
  slackUserId: string;
}

export class StatementService {
  readonly #orm: Orm;
  readonly #ledger: LedgerService;
  readonly #messaging: MessagingService;

  constructor(orm: Orm, ledger: LedgerService, messaging: MessagingService) {
    this.#orm = orm;
    this.#ledger = ledger;
    this.#messaging = messaging;
  }

  /**
   * Asks for the statement to be sent to the caller in Slack (`statement.export`, on the Slack
   * queue). What the caller may see and the filters are checked now, so a refusal comes at once;
   * the job checks again when it makes the file.
   */
  async requestExport(actor: Actor, request: ExportRequest): Promise<void> {
    const filters = { member: request.member ?? null, from: request.from ?? null, to: request.to ?? null };
    // Checking only: the rows are read when the returned iterable is, and it is dropped unread.
    if (request.kind === 'transfers') await this.#ledger.statement(actor, filters);
    else
      await this.#messaging.statement(actor, {
        from: filters.from,
        to: filters.to,
        ...(filters.member && { member: filters.member }),
      });
    await transact(this.#orm.em.fork(), async (tx) => {
      const caller = await loadCaller(tx, actor);
      if (caller.kind !== 'member') throw new ForbiddenError('Statements in Slack are for members');
      await enqueueJob(tx, 'statement.export', {
        teamId: caller.teamId,
        memberId: caller.member.id,
        slackUserId: request.slackUserId,
        kind: request.kind,
        ...filters,
      });
      await recordAudit(tx, {
        teamId: caller.teamId,
        actor: caller.party,
        action: 'statement.export',
        details: { kind: request.kind, ...filters },
      });
    });
  }

  /**
   * The statement as a CSV stream. Refusals (not allowed, unknown member, bad filters) come as the
   * promise's rejection, before a byte is written; the rows are read from the database only as
   * fast as the stream is read, and destroying the stream releases the database connection.
   */
  async open(actor: Actor, kind: StatementKind, filters: StatementFilters = {}): Promise<Statement> {
    if (kind === 'transfers') {
      const rows = await this.#ledger.statement(actor, {
        member: filters.member,
        from: filters.from,
        to: filters.to,
      });
      // The ledger's rows are already the statement's text, field for field.
      return await toCsv(rows, STATEMENT_HEADERS.transfers, FREE_TEXT_COLUMNS.transfers, (row) => row);
    }
    const { messages } = await this.#messaging.statement(actor, {
      ...(filters.member && { member: filters.member }),
      from: filters.from,
      to: filters.to,
      status: filters.status,
      recipient: filters.recipient,
      contains: filters.contains,
    });
    return await toCsv(messages, STATEMENT_HEADERS.messages, FREE_TEXT_COLUMNS.messages, (m) =>
      MESSAGE_COLUMNS.map(([, value]) => value(m)),
    );
  }
}

/**
 * The file name a statement is offered under: `transfers-2026-11-01-2026-11-30.csv`,
 * `messages-from-2026-11-01.csv`, `transfers.csv`.
 */
export function statementFilename(
  kind: StatementKind,
  filters: Pick<StatementFilters, 'from' | 'to'>,
): string {
  const day = (value: string | Date) =>
    (value instanceof Date ? value.toISOString() : value).slice(0, 10).replace(/[^0-9-]/g, '');
  const { from, to } = filters;
  if (from && to) return `${kind}-${day(from)}-${day(to)}.csv`;
  if (from) return `${kind}-from-${day(from)}.csv`;
  if (to) return `${kind}-to-${day(to)}.csv`;
  return `${kind}.csv`;
}

/**
 * The CSV of `rows`, a batch of rows per chunk, each batch written as one string; free text that
 * a spreadsheet would run as a formula gets its apostrophe first (FORMULA_START). Fields are
 * quoted by d3-dsv as RFC 4180 asks (those with a comma, a quote or a line break; quotes doubled;
 * null and undefined empty), records end with CRLF. The first batch is fetched before this
 * resolves, so a query that fails does so before a byte is written (a clean error, not a
 * cut-short file).
 */
async function toCsv<T>(
  batches: AsyncIterable<T[]>,
  header: readonly string[],
  freeText: readonly number[],
  fields: (row: T) => readonly (string | number | boolean | null)[],
): Promise<Statement> {
  const line = (row: T) => {
    const original = fields(row);
    // Copied only when a field must change: the ledger's rows are written as they come.
    let copy: (string | number | boolean | null)[] | null = null;
    for (const i of freeText) {
      const value = original[i];
      if (typeof value !== 'string' || !FORMULA_START.test(value)) continue;
      copy ??= [...original];
      copy[i] = `'${value}`;
    }
    // d3-dsv writes null as an empty field; its types only say string.
    return csvFormatRow((copy ?? original) as string[]);
  };
  const iterator = batches[Symbol.asyncIterator]();
  const first = await iterator.next();
  let count = 0;
  async function* chunks() {
    yield `${csvFormatRow([...header])}\r\n`;
    for (let next = first; !next.done; next = await iterator.next()) {
      const lines = next.value.map(line);
      count += next.value.length;
      yield `${lines.join('\r\n')}\r\n`;
    }
  }
  const csv = Readable.from(chunks(), { objectMode: false });
  // However the stream ends — read to the last row, the reader gone halfway, or destroyed before
  // its first read — the cursor is closed and its connection given back.
  csv.once('close', () => void iterator.return?.());
  return { csv, rowCount: () => count };
}

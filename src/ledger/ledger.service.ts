import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  callerTeam,
  loadCaller,
  loadCallerAndMember,
  requireManager,
  requireSelfOrManager,
} from '../members/access.ts';
import { findMember, type MemberRef } from '../members/lookups.ts';
import type { MemberView } from '../members/views.ts';
import { parseRange } from '../messaging/message-log.ts';
import type { Orm } from '../platform/database.ts';
import { queryAll, streamTextRows } from '../platform/sql.ts';
import { retryingDeadlocks, transact } from '../platform/transactions.ts';
import type { Actor } from '../shared/actor.ts';
import { ConflictError, ForbiddenError, ValidationError } from '../shared/errors.ts';
import { decimalFromMicrosText, type Micros, parseAmount } from '../shared/money.ts';
import { optionalText, pagingNumber } from '../shared/validation.ts';
import { WriteCombiner } from '../shared/write-combiner.ts';
import { loadTeam, teamTimezone } from '../teams/team.service.ts';
import {
  type CreditLimitDirection,
  type CreditLimitTransfer,
  moveCreditLimit,
  setPrimaryCreditLimit,
} from './credit-limit-transfers.ts';
import {
  applyPostingAlone,
  applyPostings,
  type Posting,
  type PostingOutcome,
  type PostingResult,
  retryingIdempotencyRace,
} from './postings.ts';
import type { TransferKind } from './transfer.entity.ts';

export interface MoveInput {
  member: MemberRef;
  amount: string | number;
  reason?: string | null;
  /** Retrying with the same key never moves the money twice. A fresh one is made when absent. */
  idempotencyKey?: string | null;
}

export interface MoveResult extends PostingResult {
  member: MemberView;
}

export interface TransferView {
  id: string;
  kind: TransferKind;
  amount: Micros;
  fromMemberId: number | null;
  toMemberId: number | null;
  reason: string | null;
  actorMemberId: number | null;
  via: string;
  masterBalanceAfter: Micros | null;
  memberBalanceAfter: Micros | null;
  createdAt: Date;
}

/** Postings per transaction at most, when many callers move money of one team at once. */
const MAX_BATCH = 200;

export class LedgerService {
  readonly #orm: Orm;
  /**
   * Group commit per team: postings that arrive while one of the team's transactions is running
   * go together in the next one. Each caller still gets its own answer, and nothing is answered
   * before its transaction committed.
   */
  readonly #writer: WriteCombiner<number, Posting, PostingResult>;

  constructor(orm: Orm) {
    this.#orm = orm;
    this.#writer = new WriteCombiner((_teamId, batch) => this.#runBatch(batch), {
      maxWeight: MAX_BATCH,
      weight: () => 1,
      // A few round trips at most: long enough for a caller to look up its next request.
      lingerMs: 5,
    });
  }

  async #runBatch(batch: Posting[]): Promise<PostingOutcome[]> {
    try {
      return await retryingIdempotencyRace(async () => {
        // A posting alone (one caller, the common case) is one statement; when that writes
        // nothing, the batch path says why (or replays), as it does for every batch under load.
        if (batch.length === 1) {
          const alone = await retryingDeadlocks(() => applyPostingAlone(this.#orm, batch[0]!));
          if (alone) return [{ ok: true, value: alone }];
        }
        return transact(this.#orm.em.fork(), (tx) => applyPostings(tx, batch));
      });
    } catch (error) {
      // PostgreSQL's "value out of range for type bigint": a balance would pass its largest value.
      if ((error as { code?: string }).code === '22003') {
        throw new ValidationError(
          'amount',
          'amount would take a balance past the largest one teamops can hold (9223372036854.775807)',
        );
      }
      throw error;
    }
  }

  /** Applies one posting, sharing a transaction with concurrent postings of the same team. */
  post(posting: Posting): Promise<PostingResult> {
    return this.#writer.submit(posting.teamId, posting);
  }

  /** Moves money from the master balance to a member. */
  credit(actor: Actor, input: MoveInput): Promise<MoveResult> {
    return this.#move(actor, 'credit', input);
  }

  /** Moves money from a member back to the master balance. */
  debit(actor: Actor, input: MoveInput): Promise<MoveResult> {
    return this.#move(actor, 'debit', input);
  }

  async #move(actor: Actor, kind: 'credit' | 'debit', input: MoveInput): Promise<MoveResult> {
    const amount = parseAmount(input.amount);
    const reason = optionalText(input.reason, 'reason');
    const idempotencyKey = requireIdempotencyKey(input.idempotencyKey);
    const { caller, findMember } = await loadCallerAndMember(this.#orm, actor, input.member);
    requireManager(caller, 'move money');
    const teamId = callerTeam(caller);
    const member = findMember();
    if (kind === 'credit' && member.sharesMasterBalance) {
      throw new ConflictError(
        `${member.name} sends from the master balance and has no balance of its own to credit`,
      );
    }
    const result = await this.post({
      teamId,
      kind,
      memberId: member.id,
      amount,
      idempotencyKey,
      reason,
      actor: caller.party,
      memberRoles: ['admin', 'user'],
    });
    return {
      ...result,
      member: {
        ...member,
        balance: result.replayed ? member.balance : (result.memberBalance ?? member.balance),
      },
    };
  }

  /** Money bought from outside lands on the master balance; the operator records it (CLI). */
  async topUp(
    actor: Actor,
    input: { teamId: number; amount: string | number; reference?: string | null },
  ): Promise<PostingResult> {
    const amount = parseAmount(input.amount);
    const reference = optionalText(input.reference, 'reference', 200);
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    if (caller.kind !== 'operator') throw new ForbiddenError('Only the operator can top up a master balance');
    const team = await loadTeam(em, input.teamId);
    const result = await this.post({
      teamId: team.id,
      kind: 'master_topup',
      memberId: null,
      amount,
      // A reference names one purchase: recording it twice must not add the money twice.
      idempotencyKey: reference ? `topup:${reference}` : `topup:${randomUUID()}`,
      reason: reference,
      actor: caller.party,
    });
    return result;
  }

  /**
   * Lends credit limit from the primary account's facility to a member (its balance may then go
   * that far below zero), or takes unused credit limit back (Vonage's credit transfers). Managers
   * only; the member must be active and pay from a balance of its own.
   */
  async transferCreditLimit(
    actor: Actor,
    input: {
      member: MemberRef;
      direction: CreditLimitDirection;
      amount: string | number;
      reference?: string | null;
    },
  ): Promise<CreditLimitTransfer> {
    const amount = parseAmount(input.amount);
    const reference = optionalText(input.reference, 'reference');
    const em = this.#orm.em.fork();
    const { caller, findMember } = await loadCallerAndMember(this.#orm, actor, input.member);
    requireManager(caller, 'move credit limits');
    const member = findMember();
    return transact(em, (tx) =>
      moveCreditLimit(tx, {
        teamId: callerTeam(caller),
        memberId: member.id,
        direction: input.direction,
        amount,
        reference,
        actor: caller.party,
      }),
    );
  }

  /** The primary account's own credit facility; the operator sets it (CLI `team:credit-limit`). */
  async setCreditLimit(
    actor: Actor,
    input: { teamId: number; creditLimit: string | number },
  ): Promise<{ before: Micros; after: Micros; currency: string }> {
    const creditLimit = parseAmount(input.creditLimit, 'credit limit', { allowZero: true });
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    if (caller.kind !== 'operator') throw new ForbiddenError('Only the operator can set a credit limit');
    const team = await loadTeam(em, input.teamId);
    return transact(em, (tx) =>
      setPrimaryCreditLimit(tx, { teamId: team.id, creditLimit, actor: caller.party }),
    );
  }

  /**
   * A manager's view of the team's transfers of some kinds in a time window, oldest first, each
   * with the key id of the member it moved money for (the Vonage API names accounts by it).
   */
  async between(
    actor: Actor,
    input: {
      kinds: readonly TransferKind[];
      start: Date;
      end: Date | null;
      memberIds?: readonly number[] | null;
    },
  ): Promise<(TransferView & { memberKeyId: string | null })[]> {
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    requireManager(caller, "see the team's transfers");
    const teamId = callerTeam(caller);
    const members = input.memberIds ? JSON.stringify(input.memberIds) : null;
    const rows = await queryAll<TransferRow & { member_key_id: string | null }>(
      em,
      `select x.*, m.key_id as member_key_id
         from transfers x left join members m on m.id = coalesce(x.from_member_id, x.to_member_id)
        where x.team_id = ? and x.kind::text in (select jsonb_array_elements_text(?::jsonb))
          and x.created_at >= ? and (?::timestamptz is null or x.created_at <= ?::timestamptz)
          and (?::jsonb is null or m.id in (select jsonb_array_elements_text(?::jsonb)::int))
        order by x.id`,
      [teamId, JSON.stringify(input.kinds), input.start, input.end, input.end, members, members],
    );
    return rows.map((row) => ({ ...toTransferView(row), memberKeyId: row.member_key_id }));
  }

  /** Newest first; a member's own history, or the whole team's for managers. */
  async history(
    actor: Actor,
    input: { member?: MemberRef | null; limit?: number; before?: string | null } = {},
  ): Promise<TransferView[]> {
    const limit = pagingNumber(input.limit, 'limit', 50, 1, 200);
    const before = input.before ? requireCursor(input.before) : null;
    const em = this.#orm.em.fork();
    const { teamId, memberId } = await this.#historyScope(em, actor, input.member);
    const rows = await queryAll<TransferRow>(
      em,
      memberId === null
        ? `select * from transfers where team_id = ? and (?::bigint is null or id < ?::bigint) order by id desc limit ?`
        : `(select * from transfers where from_member_id = ? and (?::bigint is null or id < ?::bigint) order by id desc limit ?)
           union all
           (select * from transfers where to_member_id = ? and (?::bigint is null or id < ?::bigint) order by id desc limit ?)
           order by id desc limit ?`,
      memberId === null
        ? [teamId, before, before, limit]
        : [memberId, before, before, limit, memberId, before, before, limit, limit],
    );
    return rows.map(toTransferView);
  }

  /**
   * The transfers `history` would show, oldest first, between two dates, with the members' names:
   * read through a database cursor in batches as the consumer takes them, so a statement of any
   * length holds a batch or two in memory. Who may see what is checked before this resolves; the rows come after.
   */
  async statement(
    actor: Actor,
    input: { member?: MemberRef | null; from?: string | Date | null; to?: string | Date | null } = {},
  ): Promise<AsyncIterable<StatementTransfer[]>> {
    const em = this.#orm.em.fork();
    const { teamId, memberId } = await this.#historyScope(em, actor, input.member);
    const range = parseRange(
      input.from,
      input.to,
      input.from || input.to ? await teamTimezone(em, teamId) : 'UTC',
    );
    const during =
      'and (?::timestamptz is null or x.created_at >= ?) and (?::timestamptz is null or x.created_at < ?)';
    const dates = [range.from, range.from, range.to, range.to];
    // A member's transfers are two ordered index scans merged, so the first row comes at once.
    // Rows come as text in STATEMENT_TRANSFER_FIELDS' order; the time as toISOString() writes it.
    const sql = `select x.id, x.kind, x.amount, x.from_member_id, f.name as from_member_name, x.to_member_id,
              t.name as to_member_name, x.reason, x.via,
              x.master_balance_after, x.member_balance_after,
              to_char(x.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
         from (${
           memberId === null
             ? `select * from transfers x where x.team_id = ? ${during}`
             : `select * from transfers x where x.from_member_id = ? ${during}
                union all
                select * from transfers x where x.to_member_id = ? ${during}`
         }) x
         left join members f on f.id = x.from_member_id
         left join members t on t.id = x.to_member_id
        order by x.id`;
    const params = memberId === null ? [teamId, ...dates] : [memberId, ...dates, memberId, ...dates];
    return withDecimalAmounts(streamTextRows(em, sql, params));
  }

  /** Which transfers the caller may see: a member's own, or the whole team's (or one member's) for managers. */
  async #historyScope(
    em: EntityManager,
    actor: Actor,
    ref: MemberRef | null | undefined,
  ): Promise<{ teamId: number; memberId: number | null }> {
    const caller = await loadCaller(em, actor);
    const teamId = callerTeam(caller);
    if (ref) {
      const member = await findMember(em, teamId, ref);
      requireSelfOrManager(caller, member, "see other members' transfers");
      return { teamId, memberId: member.id };
    }
    if (caller.kind === 'member' && caller.member.role === 'user')
      return { teamId, memberId: caller.member.id };
    return { teamId, memberId: null };
  }
}

/** The fields of a transfer in a statement, in order: the JSON list's fields and the members' names. */
export const STATEMENT_TRANSFER_FIELDS = [
  'id',
  'kind',
  'amount',
  'from_member_id',
  'from_member_name',
  'to_member_id',
  'to_member_name',
  'reason',
  'via',
  'master_balance_after',
  'member_balance_after',
  'created_at',
] as const;

/**
 * A transfer in a statement: its fields' text in STATEMENT_TRANSFER_FIELDS' order (null where the
 * JSON list has null), amounts as decimal strings and the time as ISO 8601, as the JSON list shows
 * them. Text rather than a view because statements run to millions of rows and write text.
 */
export type StatementTransfer = (string | null)[];

const STATEMENT_AMOUNTS = (['amount', 'master_balance_after', 'member_balance_after'] as const).map((field) =>
  STATEMENT_TRANSFER_FIELDS.indexOf(field),
);

async function* withDecimalAmounts(
  batches: AsyncIterable<StatementTransfer[]>,
): AsyncGenerator<StatementTransfer[]> {
  for await (const rows of batches) {
    for (const row of rows)
      for (const at of STATEMENT_AMOUNTS) {
        const micros = row[at];
        if (micros != null) row[at] = decimalFromMicrosText(micros);
      }
    yield rows;
  }
}

interface TransferRow {
  id: string;
  kind: TransferKind;
  amount: string;
  from_member_id: number | null;
  to_member_id: number | null;
  reason: string | null;
  actor_member_id: number | null;
  via: string;
  master_balance_after: string | null;
  member_balance_after: string | null;
  created_at: string | Date;
}

function toTransferView(row: TransferRow): TransferView {
  return {
    id: String(row.id),
    kind: row.kind,
    amount: BigInt(row.amount),
    fromMemberId: row.from_member_id,
    toMemberId: row.to_member_id,
    reason: row.reason,
    actorMemberId: row.actor_member_id,
    via: row.via,
    masterBalanceAfter: row.master_balance_after === null ? null : BigInt(row.master_balance_after),
    memberBalanceAfter: row.member_balance_after === null ? null : BigInt(row.member_balance_after),
    createdAt: new Date(row.created_at),
  };
}

function requireIdempotencyKey(value: string | null | undefined): string {
  if (value === undefined || value === null || value === '') return randomUUID();
  const key = value.trim();
  if (!/^[\x21-\x7e]{1,200}$/.test(key)) {
    throw new ValidationError(
      'idempotency key',
      'idempotency key must be 1 to 200 printable ASCII characters',
    );
  }
  return key;
}

const MAX_BIGINT = 9_223_372_036_854_775_807n;

function requireCursor(value: string): string {
  if (!/^\d{1,19}$/.test(value) || BigInt(value) > MAX_BIGINT || BigInt(value) === 0n)
    throw new ValidationError('before', 'before must be a transfer id');
  return value;
}

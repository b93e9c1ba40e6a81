import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { MemberStatus, Role } from '../members/member.entity.ts';
import { enqueueJobsFrom } from '../outbox/outbox.ts';
import type { Orm } from '../platform/database.ts';
import { postings as postingsCounter } from '../platform/metrics.ts';
import { inPreparedTransaction, type PreparedStatement } from '../platform/prepared.ts';
import { queryAll } from '../platform/sql.ts';
import type { ActingParty } from '../shared/actor.ts';
import {
  ConflictError,
  type DomainError,
  ForbiddenError,
  InsufficientFundsError,
  NotFoundError,
} from '../shared/errors.ts';
import { formatMoney, type Micros } from '../shared/money.ts';
import { withinCreditLimit, withinCreditLimitSql } from './credit-limit.ts';
import type { TransferKind } from './transfer.entity.ts';

/**
 * The ledger's one way of moving money. Every kind of transfer is a direction between the
 * master balance, a member's balance and the outside world; these signs are the whole
 * definition of what a kind does to balances.
 */
export const FLOWS: Record<TransferKind, { master: -1 | 0 | 1; member: -1 | 0 | 1 }> = {
  master_topup: { master: 1, member: 0 },
  credit: { master: -1, member: 1 },
  auto_recharge: { master: -1, member: 1 },
  debit: { master: 1, member: -1 },
  close_out: { master: 1, member: -1 },
  message_charge: { master: 0, member: -1 },
  refund: { master: 0, member: 1 },
  // The owner's messages: the owner's money is the master balance. The member is the sender.
  master_message_charge: { master: -1, member: 0 },
  master_refund: { master: 1, member: 0 },
  // Moves credit limit, not money (src/ledger/credit-limit-transfers.ts); never posted here.
  credit_limit_transfer: { master: 0, member: 0 },
};

/** Kinds that pay for messages: a sender whose role changed under them is told to send again. */
const CHARGE_KINDS: ReadonlySet<TransferKind> = new Set(['message_charge', 'master_message_charge']);

const DEFAULT_STATUSES: readonly MemberStatus[] = ['active', 'inactive'];

export interface Posting {
  teamId: number;
  kind: TransferKind;
  /**
   * Required for every kind that changes a member's balance; for the master-balance message
   * kinds, the owner who sent.
   */
  memberId: number | null;
  amount: Micros;
  idempotencyKey: string;
  reason?: string | null;
  actor: ActingParty;
  /** Which member statuses may take part. Credits and debits reach inactive members too; charges do not. */
  memberStatuses?: readonly MemberStatus[];
  /** Which member roles may take part; the owner's money is the master balance, so credits and debits exclude it. */
  memberRoles?: readonly Role[];
}

export interface PostingResult {
  transferId: string;
  kind: TransferKind;
  amount: Micros;
  memberId: number | null;
  /** Display name of the member, for the answer to the person who asked. */
  memberName: string | null;
  currency: string;
  createdAt: Date;
  /** Balances right after this transfer (null for a side it did not touch). */
  masterBalance: Micros | null;
  memberBalance: Micros | null;
  /** True when the idempotency key had already been used for this same request. */
  replayed: boolean;
}

export type PostingOutcome = { ok: true; value: PostingResult } | { ok: false; error: DomainError };

interface LockedTeam {
  id: number;
  master_balance: string;
  credit_limit: string;
  currency: string;
  low_balance_level: string;
}

interface LockedMember {
  id: number;
  team_id: number;
  name: string;
  role: Role;
  status: MemberStatus;
  balance: string;
  credit_limit: string;
  recharge_threshold: string | null;
}

interface StoredTransfer {
  team_id: number;
  idempotency_key: string;
  id: string;
  kind: TransferKind;
  amount: string;
  from_member_id: number | null;
  to_member_id: number | null;
  request_hash: string;
  created_at: string | Date;
  master_balance_after: string | null;
  member_balance_after: string | null;
  member_name: string | null;
  currency: string;
}

/**
 * Applies postings in order inside the caller's transaction, and says for each whether it was
 * applied, replayed (its idempotency key was used before for the same request) or refused.
 *
 * The rows are locked first, in the one lock order of docs/ledger.md (by team, the team row
 * before its members, members by id, `FOR NO KEY UPDATE`), so concurrent batches, charges,
 * refunds, closes and role decisions cannot deadlock; every guard is then
 * decided in memory on the locked values, and one statement writes the new balances, the
 * immutable transfer rows and their audit events. A refused posting writes nothing and does
 * not disturb the others. A batch of any size costs the same few round trips, which is what
 * lets concurrent callers share one commit.
 */
export async function applyPostings(
  em: EntityManager,
  postings: readonly Posting[],
): Promise<PostingOutcome[]> {
  if (postings.length === 0) return [];
  for (const posting of postings) assertWellFormed(posting);

  const teams = new Map<number, LockedTeam>();
  const members = new Map<number, LockedMember>();
  const stored: StoredTransfer[] = [];
  for (const teamId of unique(postings.map((p) => p.teamId))) {
    const own = postings.filter((p) => p.teamId === teamId);
    const locked = await lockTeamRows(
      em,
      teamId,
      own.some((p) => FLOWS[p.kind].master !== 0),
      unique(own.flatMap((p) => (p.memberId === null ? [] : [p.memberId]))),
      own.map((p) => p.idempotencyKey),
    );
    if (locked.team) teams.set(teamId, locked.team);
    for (const member of locked.members) members.set(member.id, member);
    stored.push(...locked.stored);
  }
  const earlier = new Map<string, StoredTransfer | number>(
    stored.map((t) => [`${t.team_id}:${t.idempotency_key}`, t]),
  );

  const masterBalance = new Map([...teams.values()].map((t) => [t.id, BigInt(t.master_balance)]));
  const memberBalance = new Map([...members.values()].map((m) => [m.id, BigInt(m.balance)]));
  // Applied postings wait for their transfer ids; `replay` marks a repeat of a key earlier in this batch.
  const outcomes: Array<PostingOutcome | { pending: number; replay: boolean }> = [];
  const writes: PendingWrite[] = [];

  postings.forEach((posting, index) => {
    const hash = hashPosting(posting);
    const keyId = `${posting.teamId}:${posting.idempotencyKey}`;
    const seen = earlier.get(keyId);
    if (seen !== undefined) {
      const seenHash = typeof seen === 'number' ? writes[seen]!.requestHash : seen.request_hash;
      if (seenHash !== hash) {
        const id = typeof seen === 'number' ? 'an earlier request' : `transfer ${seen.id}`;
        outcomes.push({
          ok: false,
          error: new ConflictError(
            `Idempotency key "${posting.idempotencyKey}" was already used for a different request (${id})`,
          ),
        });
      } else if (typeof seen === 'number') {
        outcomes.push({ pending: seen, replay: true });
      } else {
        outcomes.push({ ok: true, value: storedResult(seen) });
      }
      return;
    }

    const refusal = refuse(posting, teams, members, masterBalance, memberBalance);
    if (refusal) {
      outcomes.push({ ok: false, error: refusal });
      return;
    }
    const flow = FLOWS[posting.kind];
    const team = teams.get(posting.teamId)!;
    let masterAfter: bigint | null = null;
    let memberAfter: bigint | null = null;
    let memberBefore: bigint | null = null;
    const masterBefore = masterBalance.get(team.id)!;
    if (flow.master !== 0) {
      masterAfter = masterBefore + posting.amount * BigInt(flow.master);
      masterBalance.set(team.id, masterAfter);
    }
    if (flow.member !== 0) {
      memberBefore = memberBalance.get(posting.memberId!)!;
      memberAfter = memberBefore + posting.amount * BigInt(flow.member);
      memberBalance.set(posting.memberId!, memberAfter);
    }
    const member = posting.memberId === null ? null : members.get(posting.memberId)!;
    const level =
      member === null
        ? null
        : BigInt(member.recharge_threshold ?? teams.get(member.team_id)!.low_balance_level);
    earlier.set(keyId, writes.length);
    outcomes.push({ pending: writes.length, replay: false });
    writes.push({
      index,
      posting,
      requestHash: hash,
      masterBefore: flow.master !== 0 ? masterBefore : null,
      masterAfter,
      memberBefore,
      memberAfter,
      crossedLow:
        level !== null &&
        memberBefore !== null &&
        memberAfter !== null &&
        memberBefore >= level &&
        memberAfter < level,
    });
  });

  const written = await writePostings(em, writes, masterBalance, memberBalance);
  countPostings(postings, outcomes);
  return outcomes.map((outcome) => {
    if (!('pending' in outcome)) return outcome;
    const write = writes[outcome.pending]!;
    const row = written.get(write.index)!;
    return {
      ok: true,
      value: {
        transferId: row.id,
        kind: write.posting.kind,
        amount: write.posting.amount,
        memberId: write.posting.memberId,
        memberName: write.posting.memberId === null ? null : members.get(write.posting.memberId)!.name,
        currency: teams.get(write.posting.teamId)!.currency,
        createdAt: new Date(row.created_at),
        masterBalance: write.masterAfter,
        memberBalance: write.memberAfter,
        replayed: outcome.replay,
      },
    };
  });
}

/** Counted when decided, inside the caller's transaction: a rollback after this still counts. */
function countPostings(
  postings: readonly Posting[],
  outcomes: ReadonlyArray<PostingOutcome | { pending: number; replay: boolean }>,
): void {
  outcomes.forEach((outcome, index) => {
    const result =
      'pending' in outcome
        ? outcome.replay
          ? 'replayed'
          : 'applied'
        : outcome.ok
          ? outcome.value.replayed
            ? 'replayed'
            : 'applied'
          : 'refused';
    postingsCounter.inc({ kind: postings[index]!.kind, outcome: result });
  });
}

interface LockedRows {
  team: LockedTeam | null;
  members: LockedMember[];
  stored: StoredTransfer[];
}

/**
 * One round trip per team (two when its master balance moves and its row is locked first): its
 * row, the members the batch names (locked, by id) and the transfers that already used the
 * batch's keys.
 *
 * The keys are read with the statement's snapshot, taken before the locks are granted. Within a
 * process that is enough (the ledger's writer runs one batch per team at a time); a concurrent
 * duplicate from another process is stopped by the unique index, and the writer retries.
 */
async function lockTeamRows(
  em: EntityManager,
  teamId: number,
  lockTeam: boolean,
  memberIds: number[],
  keys: string[],
): Promise<LockedRows> {
  const storedColumn = `(select coalesce(jsonb_agg(jsonb_build_object(
       'team_id', x.team_id, 'idempotency_key', x.idempotency_key, 'id', x.id::text, 'kind', x.kind,
       'amount', x.amount::text, 'from_member_id', x.from_member_id, 'to_member_id', x.to_member_id,
       'request_hash', x.request_hash, 'created_at', x.created_at,
       'master_balance_after', x.master_balance_after::text, 'member_balance_after', x.member_balance_after::text,
       'member_name', xm.name, 'currency', xt.currency)), '[]'::jsonb)
     from transfers x join teams xt on xt.id = x.team_id
     left join members xm on xm.id = coalesce(x.from_member_id, x.to_member_id)
     where x.team_id = ? and x.idempotency_key = any(array(select jsonb_array_elements_text(?::jsonb)))) as stored`;
  type Row = LockedTeam & { stored: StoredTransfer[] } & Partial<{
      [K in keyof LockedMember as `m_${K}`]: LockedMember[K];
    }>;
  const keysJson = JSON.stringify(keys);
  let rows: Row[] = [];
  // The team row first (only when its master balance moves), then the members by id: the lock
  // order of docs/ledger.md. NO KEY UPDATE, not UPDATE: it excludes every other balance writer,
  // but not the KEY SHARE locks the foreign keys of a concurrent charge's inserts take on the team
  // row — UPDATE would, and that charge holds a member this batch may be waiting for. The team
  // row is locked in a statement of its own: locked in the join, it would be locked again for
  // each member row, through the version the statement's snapshot saw, and a re-lock of an old
  // version queues behind the batches waiting for the new one (a deadlock PostgreSQL reported).
  if (lockTeam) await queryAll(em, 'select id from teams where id = ? for no key update', [teamId]);
  if (memberIds.length > 0) {
    // The team's columns are read after its lock, so they are the current ones.
    rows = await queryAll<Row>(
      em,
      `select t.id, t.master_balance, t.credit_limit, t.currency, t.low_balance_level, ${storedColumn},
              m.id as m_id, m.team_id as m_team_id, m.name as m_name, m.role as m_role, m.status as m_status,
              m.balance as m_balance, m.credit_limit as m_credit_limit,
              (select r.threshold from auto_recharge_rules r where r.member_id = m.id) as m_recharge_threshold
         from teams t join members m on m.team_id = t.id
        where t.id = ? and m.id = any(array(select jsonb_array_elements_text(?::jsonb)::int))
        order by m.id
          for no key update of m`,
      [teamId, keysJson, teamId, JSON.stringify(memberIds)],
    );
  }
  if (rows.length === 0) {
    // No member of this team named (a top-up, or only unknown members): the team row alone.
    rows = await queryAll<Row>(
      em,
      `select t.id, t.master_balance, t.credit_limit, t.currency, t.low_balance_level, ${storedColumn}
         from teams t where t.id = ?`,
      [teamId, keysJson, teamId],
    );
  }
  const first = rows[0];
  return {
    team: first
      ? {
          id: first.id,
          master_balance: first.master_balance,
          credit_limit: first.credit_limit,
          currency: first.currency,
          low_balance_level: first.low_balance_level,
        }
      : null,
    members: rows
      .filter((row) => row.m_id !== undefined)
      .map((row) => ({
        id: row.m_id!,
        team_id: row.m_team_id!,
        name: row.m_name!,
        role: row.m_role!,
        status: row.m_status!,
        balance: row.m_balance!,
        credit_limit: row.m_credit_limit!,
        recharge_threshold: row.m_recharge_threshold ?? null,
      })),
    stored: first?.stored ?? [],
  };
}

/** One posting in the caller's transaction; a refusal is thrown. */
export async function applyPosting(em: EntityManager, posting: Posting): Promise<PostingResult> {
  const [outcome] = await applyPostings(em, [posting]);
  if (!outcome!.ok) throw outcome!.error;
  return outcome!.value;
}

interface PendingWrite {
  index: number;
  posting: Posting;
  requestHash: string;
  masterBefore: bigint | null;
  masterAfter: bigint | null;
  memberBefore: bigint | null;
  memberAfter: bigint | null;
  crossedLow: boolean;
}

/** Final balances, transfer rows, audit events and balance-low jobs of a batch: one statement. */
async function writePostings(
  em: EntityManager,
  writes: readonly PendingWrite[],
  masterBalance: Map<number, bigint>,
  memberBalance: Map<number, bigint>,
): Promise<Map<number, { id: string; created_at: string | Date }>> {
  if (writes.length === 0) return new Map();
  const touchedTeams = unique(writes.filter((w) => w.masterAfter !== null).map((w) => w.posting.teamId));
  const touchedMembers = unique(writes.filter((w) => w.memberAfter !== null).map((w) => w.posting.memberId!));
  const rows = writes.map((w) => {
    const flow = FLOWS[w.posting.kind];
    // The member's side of the transfer; when its balance does not move (the owner's messages),
    // the member stands on the side the master balance is on.
    const side = flow.member !== 0 ? flow.member : flow.master;
    return {
      ord: w.index,
      team_id: w.posting.teamId,
      kind: w.posting.kind,
      from_member_id: side < 0 ? w.posting.memberId : null,
      to_member_id: side > 0 ? w.posting.memberId : null,
      amount: w.posting.amount.toString(),
      idempotency_key: w.posting.idempotencyKey,
      request_hash: w.requestHash,
      reason: w.posting.reason ?? null,
      actor_kind: w.posting.actor.kind,
      actor_member_id: w.posting.actor.memberId,
      via: w.posting.actor.via,
      master_balance_after: w.masterAfter?.toString() ?? null,
      member_balance_after: w.memberAfter?.toString() ?? null,
      subject_member_id: w.posting.memberId,
      // Audit details keep money as exact strings (JSON has no bigint).
      details: {
        amount: w.posting.amount.toString(),
        reason: w.posting.reason ?? undefined,
        masterBefore: w.masterBefore?.toString(),
        masterAfter: w.masterAfter?.toString(),
        memberBefore: w.memberBefore?.toString(),
        memberAfter: w.memberAfter?.toString(),
      },
      balance_low: w.crossedLow ? { teamId: w.posting.teamId, memberId: w.posting.memberId } : null,
    };
  });
  // A posting that takes a balance below its level asks for the balance-low job in the same statement.
  const balanceLowJobs = enqueueJobsFrom('member.balance_low', {
    payload: "balance_low || jsonb_build_object('transferId', id::text)",
    dedupKey: "'balance-low-' || id",
    from: 'input where balance_low is not null order by id',
  });
  const inserted = await queryAll<{ ord: number; id: string; created_at: string | Date }>(
    em,
    `with
     team_balances as (select * from jsonb_to_recordset(?::jsonb) as x(id int, balance bigint)),
     member_balances as (select * from jsonb_to_recordset(?::jsonb) as x(id int, balance bigint)),
     input as materialized (
       select nextval('transfers_id_seq') as id, x.*
         from jsonb_to_recordset(?::jsonb) as x(
           ord int, team_id int, kind text, from_member_id int, to_member_id int, amount bigint,
           idempotency_key text, request_hash text, reason text, actor_kind text, actor_member_id int, via text,
           master_balance_after bigint, member_balance_after bigint, subject_member_id int, details jsonb,
           balance_low jsonb)
        order by x.ord
     ),
     teams_written as (
       update teams t set master_balance = b.balance, updated_at = now() from team_balances b where t.id = b.id
     ),
     members_written as (
       update members m set balance = b.balance, updated_at = now() from member_balances b where m.id = b.id
     ),
     transfers_written as (
       insert into transfers (id, team_id, kind, from_member_id, to_member_id, amount, idempotency_key, request_hash,
                              reason, actor_kind, actor_member_id, via, master_balance_after, member_balance_after,
                              created_at)
       select id, team_id, kind, from_member_id, to_member_id, amount, idempotency_key, request_hash,
              reason, actor_kind, actor_member_id, via, master_balance_after, member_balance_after, now()
         from input order by id
     ),
     audit_written as (
       insert into audit_events (team_id, actor_kind, actor_member_id, via, action, subject_member_id, details, created_at)
       select team_id, actor_kind, actor_member_id, via, 'ledger.' || kind, subject_member_id,
              details || jsonb_build_object('transferId', id::text), now()
         from input order by id
     ),
     jobs_written as (
       ${balanceLowJobs.sql}
     )
     select ord, id::text as id, now() as created_at from input`,
    [
      JSON.stringify(touchedTeams.map((id) => ({ id, balance: masterBalance.get(id)!.toString() }))),
      JSON.stringify(touchedMembers.map((id) => ({ id, balance: memberBalance.get(id)!.toString() }))),
      JSON.stringify(rows),
      ...balanceLowJobs.params,
    ],
  );
  return new Map(inserted.map((row) => [row.ord, row]));
}

/** Why a posting cannot be applied to the locked balances, or null when it can. */
function refuse(
  posting: Posting,
  teams: Map<number, LockedTeam>,
  members: Map<number, LockedMember>,
  masterBalance: Map<number, bigint>,
  memberBalance: Map<number, bigint>,
): DomainError | null {
  const team = teams.get(posting.teamId);
  if (!team) return new NotFoundError(`Team ${posting.teamId} does not exist`);
  const money = (micros: bigint) => formatMoney(micros, team.currency);
  const flow = FLOWS[posting.kind];
  if (posting.memberId !== null) {
    const member = members.get(posting.memberId);
    if (!member || member.team_id !== posting.teamId) {
      return new NotFoundError(`There is no member #${posting.memberId} in this team`);
    }
    if (posting.memberRoles && !posting.memberRoles.includes(member.role)) {
      if (CHARGE_KINDS.has(posting.kind)) {
        return new ConflictError(`${member.name}'s role changed while this was being charged; send it again`);
      }
      return new ForbiddenError(
        member.role === 'owner'
          ? "The owner's money is the master balance; credit or debit another member"
          : `${member.name} is ${member.role === 'admin' ? 'an' : 'a'} ${member.role} and cannot take part in this`,
      );
    }
    if (!(posting.memberStatuses ?? DEFAULT_STATUSES).includes(member.status)) {
      return new ConflictError(`${member.name} is ${member.status}, so no money can move to or from it`);
    }
    const balance = memberBalance.get(member.id)!;
    if (flow.member < 0 && !withinCreditLimit(balance, posting.amount, BigInt(member.credit_limit))) {
      return new InsufficientFundsError(
        `${member.name}'s balance is ${money(balance)}, not enough for ${money(posting.amount)}`,
      );
    }
  }
  if (flow.master < 0) {
    const balance = masterBalance.get(team.id)!;
    if (!withinCreditLimit(balance, posting.amount, BigInt(team.credit_limit))) {
      return new InsufficientFundsError(
        `The master balance is ${money(balance)}, not enough for ${money(posting.amount)}`,
      );
    }
  }
  return null;
}

function assertWellFormed(posting: Posting): void {
  // Programming errors, not user input: services validate amounts before they get here.
  if (posting.amount <= 0n) throw new Error(`posting amount must be positive, got ${posting.amount}`);
  if (posting.kind === 'credit_limit_transfer') throw new Error('a credit limit transfer moves no money');
  if (FLOWS[posting.kind].member !== 0 && posting.memberId === null)
    throw new Error(`${posting.kind} needs a member`);
}

function storedResult(row: StoredTransfer): PostingResult {
  return {
    transferId: row.id,
    kind: row.kind,
    amount: BigInt(row.amount),
    memberId: row.from_member_id ?? row.to_member_id,
    memberName: row.member_name,
    currency: row.currency,
    createdAt: new Date(row.created_at),
    masterBalance: row.master_balance_after === null ? null : BigInt(row.master_balance_after),
    memberBalance: row.member_balance_after === null ? null : BigInt(row.member_balance_after),
    replayed: true,
  };
}

/** What makes two requests "the same" for an idempotency key: the money, not the wording. */
function hashPosting(posting: Posting): string {
  return createHash('sha256')
    .update(JSON.stringify([posting.teamId, posting.kind, posting.memberId, posting.amount.toString()]))
    .digest('hex');
}

/**
 * Runs a transaction that applies postings, again when another process committed the same
 * idempotency key a moment before: the key is visible now, so the posting replays instead.
 */
export async function retryingIdempotencyRace<T>(transaction: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      if (attempt < attempts && isIdempotencyRace(error)) continue;
      throw error;
    }
  }
}

/** Two processes inserted the same idempotency key at once. */
function isIdempotencyRace(error: unknown): boolean {
  const e = error as { constraint?: string; message?: string } | null;
  return (
    e?.constraint === 'transfers_idempotency_key' ||
    Boolean(e?.message?.includes('transfers_idempotency_key'))
  );
}

function unique(ids: number[]): number[] {
  return [...new Set(ids)].sort((a, b) => a - b);
}

/**
 * The balance guards, in SQL over a locked member row `m` / team row `t`: the rules `refuse`
 * applies in memory to the locked values of a batch, for the one-statement postings below. A new
 * guard goes in both.
 */
export const SQL_GUARDS = {
  memberCanPay: (amount: string) => withinCreditLimitSql('m.balance', amount, 'm.credit_limit'),
  masterCanPay: (amount: string) => withinCreditLimitSql('t.master_balance', amount, 't.credit_limit'),
};

/**
 * What a posting records besides its balances, as CTEs over `ok` (see SINGLE_POSTING_WRITES):
 * the transfer (CTE `transfer` returns its id and created_at), its audit event and, when the
 * member's balance falls below its level, the balance-low job. On its own for a statement whose
 * balance update is itself the row's lock (CHARGE_TOGETHER in src/messaging/charging.ts).
 */
export const POSTING_RECORD_WRITES = `
     transfer as (
       insert into transfers (team_id, kind, from_member_id, to_member_id, amount, idempotency_key, request_hash,
                              reason, actor_kind, actor_member_id, via, master_balance_after, member_balance_after,
                              created_at)
       select team_id, kind, from_member_id, to_member_id, amount, idempotency_key, request_hash,
              reason, actor_kind, actor_member_id, via, master_after, member_after, now()
         from ok
       returning id, created_at
     ),
     audit_written as (
       insert into audit_events (team_id, actor_kind, actor_member_id, via, action, subject_member_id, details, created_at)
       select ok.team_id, ok.actor_kind, ok.actor_member_id, ok.via, 'ledger.' || ok.kind, ok.member_id,
              jsonb_strip_nulls(jsonb_build_object(
                'amount', ok.amount::text, 'reason', ok.reason,
                'masterBefore', ok.master_before::text, 'masterAfter', ok.master_after::text,
                'memberBefore', ok.member_before::text, 'memberAfter', ok.member_after::text,
                'transferId', transfer.id::text)),
              now()
         from ok, transfer
     ),
     balance_low_written as (
       ${
         enqueueJobsFrom('member.balance_low', {
           payload:
             "jsonb_build_object('teamId', ok.team_id, 'memberId', ok.member_id, 'transferId', transfer.id::text)",
           dedupKey: "'balance-low-' || transfer.id",
           from: 'ok, transfer where ok.member_before >= ok.level and ok.member_after < ok.level',
           jobLiteral: true,
         }).sql
       }
     )`;

/**
 * The writes of ONE posting whose guards held, as CTEs of a larger statement, over a CTE `ok`
 * of one row (no row: nothing is written) with the columns team_id, member_id, kind, amount,
 * idempotency_key, request_hash, reason, actor_kind, actor_member_id, via, from_member_id,
 * to_member_id, master_before, master_after, member_before, member_after (the *_before/_after
 * of a side the posting does not move are null), level (the member's balance-low level).
 * The same rows `writePostings` writes for a batch: the balances and POSTING_RECORD_WRITES.
 */
export const SINGLE_POSTING_WRITES = `
     team_written as (
       update teams set master_balance = ok.master_after, updated_at = now()
         from ok where teams.id = ok.team_id and ok.master_after is not null
     ),
     member_written as (
       update members set balance = ok.member_after, updated_at = now()
         from ok where members.id = ok.member_id and ok.member_after is not null
     ),
     ${POSTING_RECORD_WRITES}`;

/** The posting statement, with the team row locked first (its master balance moves) or only read. */
function singlePostingStatement(lockTeam: boolean): PreparedStatement {
  return {
    name: `ledger.post-one.${lockTeam ? 'team-and-member' : 'member'}`,
    // $1 team, $2 kind, $3 member, $4 amount, $5 key, $6 request hash, $7 reason, $8 actor kind,
    // $9 actor member, $10 via, $11 roles (null: any), $12 statuses, $13 master sign, $14 side of
    // the member in the transfer, $15 member sign.
    text: `with
     t as materialized (
       select id, master_balance, credit_limit, currency, low_balance_level from teams where id = $1
       ${lockTeam ? 'for no key update' : ''}
     ),
     m as materialized (
       select m.id, m.name, m.balance, m.credit_limit,
              coalesce((select r.threshold from auto_recharge_rules r where r.member_id = m.id), t.low_balance_level)
                as level
         from members m join t on t.id = m.team_id
        where m.id = $3 and ($11::text[] is null or m.role = any($11::text[])) and m.status = any($12::text[])
          for no key update of m
     ),
     ok as materialized (
       select t.id as team_id, m.id as member_id, $2::text as kind, $4::bigint as amount,
              $5::text as idempotency_key, $6::text as request_hash, $7::text as reason,
              $8::text as actor_kind, $9::int as actor_member_id, $10::text as via,
              case when $14::int < 0 then m.id end as from_member_id,
              case when $14::int > 0 then m.id end as to_member_id,
              case when $13::int <> 0 then t.master_balance end as master_before,
              case when $13::int <> 0 then t.master_balance + $13::int * $4::bigint end as master_after,
              case when $15::int <> 0 then m.balance end as member_before,
              case when $15::int <> 0 then m.balance + $15::int * $4::bigint end as member_after,
              m.level, m.name as member_name, t.currency
         from t, m
        where ($15::int >= 0 or ${SQL_GUARDS.memberCanPay('$4::bigint')})
          and ($13::int >= 0 or ${SQL_GUARDS.masterCanPay('$4::bigint')})
          and not exists (select 1 from transfers x where x.team_id = t.id and x.idempotency_key = $5::text)
     ),
     ${SINGLE_POSTING_WRITES}
     select transfer.id::text as id, transfer.created_at, ok.master_after::text as master_after,
            ok.member_after::text as member_after, ok.member_name, ok.currency
       from ok, transfer`,
  };
}

const POST_ONE = { teamAndMember: singlePostingStatement(true), member: singlePostingStatement(false) };

const LOCK_TEAM: PreparedStatement = {
  name: 'ledger.lock-team',
  text: 'select id from teams where id = $1 for no key update',
};
const LOCK_MEMBER: PreparedStatement = {
  name: 'ledger.lock-member',
  text: 'select id from members where id = $1 for no key update',
};

/**
 * Runs a one-posting statement after locking its rows in statements of their own, in the lock
 * order (the team when its master balance moves, then the member): see inPreparedTransaction.
 */
export function postLocked<R extends Record<string, unknown>>(
  orm: Orm,
  statement: PreparedStatement,
  teamId: number | null,
  memberId: number,
  values: readonly unknown[],
): Promise<R[]> {
  return inPreparedTransaction<R>(orm, [
    ...(teamId !== null ? [{ statement: LOCK_TEAM, values: [teamId] }] : []),
    { statement: LOCK_MEMBER, values: [memberId] },
    { statement, values },
  ]);
}

/**
 * One posting of a member alone, as one statement that is its own transaction: it locks the
 * team row (when the master balance moves) and then the member, in the lock order, decides the
 * guards on the locked rows and writes everything `applyPostings` writes — or nothing. Null when
 * it wrote nothing (a guard refused, the key was used before, the member is not in the team):
 * the caller then runs the posting through `applyPostings`, which replays or says why.
 */
export async function applyPostingAlone(orm: Orm, posting: Posting): Promise<PostingResult | null> {
  assertWellFormed(posting);
  if (posting.memberId === null) return null;
  const flow = FLOWS[posting.kind];
  const side = flow.member !== 0 ? flow.member : flow.master;
  const [row] = await postLocked<{
    id: string;
    created_at: Date | string;
    master_after: string | null;
    member_after: string | null;
    member_name: string;
    currency: string;
  }>(
    orm,
    flow.master !== 0 ? POST_ONE.teamAndMember : POST_ONE.member,
    flow.master !== 0 ? posting.teamId : null,
    posting.memberId,
    [
      posting.teamId,
      posting.kind,
      posting.memberId,
      posting.amount.toString(),
      posting.idempotencyKey,
      hashPosting(posting),
      posting.reason ?? null,
      posting.actor.kind,
      posting.actor.memberId,
      posting.actor.via,
      posting.memberRoles ?? null,
      posting.memberStatuses ?? DEFAULT_STATUSES,
      flow.master,
      side,
      flow.member,
    ],
  );
  if (!row) return null;
  postingsCounter.inc({ kind: posting.kind, outcome: 'applied' });
  return {
    transferId: row.id,
    kind: posting.kind,
    amount: posting.amount,
    memberId: posting.memberId,
    memberName: row.member_name,
    currency: row.currency,
    createdAt: new Date(row.created_at),
    masterBalance: row.master_after === null ? null : BigInt(row.master_after),
    memberBalance: row.member_after === null ? null : BigInt(row.member_after),
    replayed: false,
  };
}

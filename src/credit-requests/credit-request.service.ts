import type { EntityManager } from '@mikro-orm/postgresql';
import { recordAudit } from '../audit/audit.ts';
import { lockTeamAndMembers } from '../ledger/lock-order.ts';
import { applyPosting } from '../ledger/postings.ts';
import { callerTeam, isManager, loadCaller, requireManager } from '../members/access.ts';
import { teamDeciders } from '../members/lookups.ts';
import { enqueueJob } from '../outbox/outbox.ts';
import type { Orm } from '../platform/database.ts';
import { queryAll, queryOne } from '../platform/sql.ts';
import { transact } from '../platform/transactions.ts';
import { type ActingParty, type Actor, systemParty } from '../shared/actor.ts';
import {
  ConflictError,
  ForbiddenError,
  InsufficientFundsError,
  NotFoundError,
  ValidationError,
} from '../shared/errors.ts';
import { type Micros, parseAmount } from '../shared/money.ts';
import { optionalText, requireId } from '../shared/validation.ts';
// upward, as in ledger/balance-low.ts: the outbox rows carry the finished Slack messages, so a
// retried post is the same post; the presenter is a pure function of the request.
import { creditRequestMessage, creditRequestOutcome } from '../slack/presenters/credit-requests.ts';
import {
  CREDIT_REQUEST_STATUSES,
  type CreditRequestStatus,
  type SlackMessageRef,
} from './credit-request.entity.ts';

/** How long a request waits for a decision. */
export const CREDIT_REQUEST_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

export interface CreditRequestView {
  id: number;
  teamId: number;
  currency: string;
  memberId: number;
  memberName: string;
  memberSlackUserId: string | null;
  amount: Micros;
  reason: string | null;
  status: CreditRequestStatus;
  decidedById: number | null;
  decidedByName: string | null;
  decidedAt: Date | null;
  transferId: string | null;
  slackMessages: SlackMessageRef[];
  expiresAt: Date;
  createdAt: Date;
}

export const CREDIT_REQUEST_FILTERS = [...CREDIT_REQUEST_STATUSES, 'all'] as const;
export type CreditRequestFilter = (typeof CREDIT_REQUEST_FILTERS)[number];

interface RequestRow {
  id: number;
  team_id: number;
  currency: string;
  member_id: number;
  member_name: string;
  member_slack_user_id: string | null;
  amount: string;
  reason: string | null;
  status: CreditRequestStatus;
  decided_by_id: number | null;
  decided_by_name: string | null;
  decided_at: Date | string | null;
  transfer_id: string | null;
  slack_messages: SlackMessageRef[];
  expires_at: Date | string;
  created_at: Date | string;
}

const REQUEST_SELECT = `
  select r.id, r.team_id, t.currency, r.member_id, m.name as member_name,
         m.slack_user_id as member_slack_user_id, r.amount, r.reason, r.status,
         r.decided_by_id, d.name as decided_by_name, r.decided_at, r.transfer_id::text as transfer_id,
         r.slack_messages, r.expires_at, r.created_at
    from credit_requests r
    join teams t on t.id = r.team_id
    join members m on m.id = r.member_id
    left join members d on d.id = r.decided_by_id`;

/**
 * A member asks for credit; the owner or an admin approves (the member is credited from the
 * master balance, once) or denies; after seven days an undecided request expires. Everyone
 * asked is told through the outbox: the request message goes to the alerts channel or, without
 * one, to each owner and admin by direct message, and every copy is replaced by the outcome.
 */
export class CreditRequestService {
  readonly #orm: Orm;
  constructor(orm: Orm) {
    this.#orm = orm;
  }

  async create(actor: Actor, input: { amount: unknown; reason?: unknown }): Promise<CreditRequestView> {
    const amount = parseAmount(input.amount);
    const reason = optionalText(input.reason, 'reason');
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    if (caller.kind !== 'member') throw new ForbiddenError('Credit is asked for by a member of the team');
    if (caller.member.role === 'owner') {
      throw new ForbiddenError("The owner's money is the master balance; there is no one to ask for credit");
    }
    await this.#expireDue(em, { teamId: caller.teamId });
    const id = await transact(em, async (tx) => {
      const member = await queryOne<{ shares_master_balance: boolean; alerts_channel: string | null }>(
        tx,
        `select m.shares_master_balance, t.alerts_channel
           from members m join teams t on t.id = m.team_id where m.id = ?`,
        [caller.member.id],
      );
      if (member?.shares_master_balance) {
        throw new ConflictError('You send from the master balance and have no balance of your own to credit');
      }
      const open = await queryOne<{ id: number }>(
        tx,
        `select id from credit_requests where member_id = ? and status = 'open'`,
        [caller.member.id],
      );
      if (open) throw alreadyOpen(open.id);
      const inserted = await queryOne<{ id: number }>(
        tx,
        `insert into credit_requests (team_id, member_id, amount, reason, status, expires_at, created_at)
         values (?, ?, ?, ?, 'open', now() + (? * interval '1 millisecond'), now())
         on conflict do nothing
         returning id`,
        [caller.teamId, caller.member.id, amount.toString(), reason, CREDIT_REQUEST_LIFETIME_MS],
      );
      // Two requests at once: the one-open-request index let only the other one in.
      if (!inserted) throw alreadyOpen(null);
      await recordAudit(tx, {
        teamId: caller.teamId,
        actor: caller.party,
        action: 'credit_request.created',
        subjectMemberId: caller.member.id,
        details: { requestId: inserted.id, amount, reason },
      });
      for (const target of await this.#recipients(
        tx,
        caller.teamId,
        caller.member.id,
        member?.alerts_channel,
      )) {
        await enqueueJob(
          tx,
          'credit_request.post',
          { requestId: inserted.id, target },
          { dedupKey: `credit-request-${inserted.id}-to-${target}` },
        );
      }
      await enqueueJob(
        tx,
        'credit_request.expire',
        { requestId: inserted.id },
        { dedupKey: `credit-request-${inserted.id}-expiry`, delayMs: CREDIT_REQUEST_LIFETIME_MS },
      );
      return inserted.id;
    });
    return (await this.#load(em, id))!;
  }

  /** Newest first; a user sees only its own requests, the owner and admins every one of the team. */
  async list(
    actor: Actor,
    input: { status?: CreditRequestFilter; before?: number | null; limit?: number } = {},
  ): Promise<CreditRequestView[]> {
    const status = input.status ?? 'open';
    if (!(CREDIT_REQUEST_FILTERS as readonly string[]).includes(status)) {
      throw new ValidationError('status', `status must be one of ${CREDIT_REQUEST_FILTERS.join(', ')}`);
    }
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    const teamId = callerTeam(caller);
    await this.#expireDue(em, { teamId });
    const where = ['r.team_id = ?'];
    const params: unknown[] = [teamId];
    if (!isManager(caller)) {
      where.push('r.member_id = ?');
      params.push(caller.member!.id);
    }
    if (status !== 'all') {
      where.push('r.status = ?');
      params.push(status);
    }
    if (input.before !== undefined && input.before !== null) {
      where.push('r.id < ?');
      params.push(input.before);
    }
    const limit = Math.min(Math.max(input.limit ?? 50, 1), 200);
    const rows = await queryAll<RequestRow>(
      em,
      `${REQUEST_SELECT} where ${where.join(' and ')} order by r.id desc limit ${limit}`,
      params,
    );
    return rows.map(viewOf);
  }

  async get(actor: Actor, requestId: unknown): Promise<CreditRequestView> {
    const id = requireId(requestId);
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    const teamId = callerTeam(caller);
    await this.#expireDue(em, { teamId });
    const request = await this.#load(em, id);
    if (!request || request.teamId !== teamId) throw notFound(id);
    if (!isManager(caller) && request.memberId !== caller.member!.id) {
      // A user learns nothing about other members' requests, not even that they exist.
      throw notFound(id);
    }
    return request;
  }

  approve(actor: Actor, requestId: unknown): Promise<{ request: CreditRequestView; changed: boolean }> {
    return this.#decide(actor, requestId, 'approved');
  }

  deny(actor: Actor, requestId: unknown): Promise<{ request: CreditRequestView; changed: boolean }> {
    return this.#decide(actor, requestId, 'denied');
  }

  /** The `credit_request.expire` job: the request's seven days are up (nothing happens if it was decided). */
  async expire(requestId: number): Promise<'expired' | 'not due'> {
    const expired = await this.#expireDue(this.#orm.em.fork(), { requestId });
    return expired > 0 ? 'expired' : 'not due';
  }

  /** For the worker posting the request message: the request as it is now, whoever asks. */
  find(requestId: number): Promise<CreditRequestView | undefined> {
    return this.#load(this.#orm.em.fork(), requestId);
  }

  /**
   * Remembers a copy of the request message, so the outcome replaces it in place. Returns the
   * request as it is after the write: a decision made while the message was on its way shows
   * here, and the caller updates the copy it just posted.
   */
  async recordSlackMessage(requestId: number, message: SlackMessageRef): Promise<CreditRequestView> {
    const em = this.#orm.em.fork();
    await em.execute(
      `update credit_requests set slack_messages = slack_messages || ?::jsonb where id = ?
         and not slack_messages @> ?::jsonb`,
      [JSON.stringify([message]), requestId, JSON.stringify([{ target: message.target }])],
    );
    return (await this.#load(em, requestId))!;
  }

  async #decide(
    actor: Actor,
    requestId: unknown,
    decision: 'approved' | 'denied',
  ): Promise<{ request: CreditRequestView; changed: boolean }> {
    const id = requireId(requestId);
    const em = this.#orm.em.fork();
    const asked = await loadCaller(em, actor);
    requireManager(asked, 'approve or deny credit requests');
    const teamId = callerTeam(asked);
    // An expired request is marked so, and its messages updated, even though this call refuses.
    await this.#expireDue(em, { teamId, requestId: id });
    const changed = await transact(em, async (tx) => {
      const current = await queryOne<{ member_id: number }>(
        tx,
        'select member_id from credit_requests where id = ? and team_id = ?',
        [id, teamId],
      );
      if (!current) throw notFound(id);
      // Every decision of the team waits for the team row, then the member's, in the ledger's lock
      // order (docs/ledger.md): two clicks at once decide one after the other.
      await lockTeamAndMembers(tx, teamId, [current.member_id]);
      const caller = await loadCaller(tx, actor);
      requireManager(caller, 'approve or deny credit requests');
      const request = (await this.#load(tx, id))!;
      if (request.status === 'expired') throw expiredError(request);
      // A second click, a click by a second admin, or a retried action: decided already.
      if (request.status !== 'open') return false;
      if (caller.kind === 'member' && caller.member.id === request.memberId) {
        throw new ForbiddenError('You asked for this credit; another owner or admin must decide it');
      }
      // The guarded transition: only an open request that has not run out becomes decided.
      const decided = await queryOne<{ slack_messages: SlackMessageRef[] }>(
        tx,
        `update credit_requests set status = ?, decided_by_id = ?, decided_at = now()
          where id = ? and status = 'open' and expires_at > now()
          returning slack_messages`,
        [decision, caller.member?.id ?? null, id],
      );
      if (!decided) throw expiredError(request);
      if (decision === 'approved') await this.#credit(tx, request, caller.party);
      await recordAudit(tx, {
        teamId,
        actor: caller.party,
        action: `credit_request.${decision}`,
        subjectMemberId: request.memberId,
        details: { requestId: id, amount: request.amount },
      });
      const after = (await this.#load(tx, id))!;
      await announceOutcome(tx, { ...after, slackMessages: decided.slack_messages });
      return true;
    });
    return { request: (await this.#load(em, id))!, changed };
  }

  /** The credit itself: one posting from the master, keyed by the request so it can happen once. */
  async #credit(tx: EntityManager, request: CreditRequestView, party: ActingParty): Promise<void> {
    try {
      const posted = await applyPosting(tx, {
        teamId: request.teamId,
        kind: 'credit',
        memberId: request.memberId,
        amount: request.amount,
        idempotencyKey: `credit-request-${request.id}`,
        reason: request.reason
          ? `Credit request #${request.id}: ${request.reason}`
          : `Credit request #${request.id}`,
        actor: party,
        memberRoles: ['admin', 'user'],
      });
      await tx.execute('update credit_requests set transfer_id = ? where id = ?', [
        posted.transferId,
        request.id,
      ]);
    } catch (error) {
      if (error instanceof InsufficientFundsError) {
        throw new InsufficientFundsError(
          `${error.message}: request #${request.id} stays open; top up the master balance and approve it again`,
        );
      }
      throw error;
    }
  }

  /**
   * Marks open requests past their seven days as expired (of one team, or one request), each in
   * the same statement that checks it is still open, so a decision and an expiry never both win.
   */
  async #expireDue(em: EntityManager, scope: { teamId?: number; requestId?: number }): Promise<number> {
    const where = [`status = 'open'`, 'expires_at <= now()'];
    const params: unknown[] = [];
    if (scope.teamId !== undefined) {
      where.push('team_id = ?');
      params.push(scope.teamId);
    }
    if (scope.requestId !== undefined) {
      where.push('id = ?');
      params.push(scope.requestId);
    }
    // Cheap when nothing is due: the partial index holds only open requests.
    const due = await queryOne<{ n: number }>(
      em,
      `select count(*)::int as n from credit_requests where ${where.join(' and ')}`,
      params,
    );
    if (!due?.n) return 0;
    return transact(em, async (tx) => {
      const expired = await queryAll<{ id: number; team_id: number; member_id: number }>(
        tx,
        `update credit_requests set status = 'expired', decided_at = expires_at
          where ${where.join(' and ')} returning id, team_id, member_id`,
        params,
      );
      for (const row of expired) {
        await recordAudit(tx, {
          teamId: row.team_id,
          actor: systemParty('worker'),
          action: 'credit_request.expired',
          subjectMemberId: row.member_id,
          details: { requestId: row.id },
        });
        await announceOutcome(tx, (await this.#load(tx, row.id))!);
      }
      return expired.length;
    });
  }

  /** Who is asked: the alerts channel, or else each owner and admin in Slack but the requester. */
  async #recipients(
    tx: EntityManager,
    teamId: number,
    requesterId: number,
    alertsChannel: string | null | undefined,
  ): Promise<string[]> {
    if (alertsChannel) return [alertsChannel];
    return (await teamDeciders(tx, teamId)).flatMap((member) =>
      member.id !== requesterId && member.slackUserId ? [member.slackUserId] : [],
    );
  }

  async #load(em: EntityManager, id: number): Promise<CreditRequestView | undefined> {
    const row = await queryOne<RequestRow>(em, `${REQUEST_SELECT} where r.id = ?`, [id]);
    return row && viewOf(row);
  }
}

/** Every copy of the request message shows the outcome without buttons; the requester is told by DM. */
async function announceOutcome(tx: EntityManager, request: CreditRequestView): Promise<void> {
  const message = creditRequestMessage(request);
  for (const copy of request.slackMessages) {
    await enqueueJob(
      tx,
      'slack.post',
      { teamId: request.teamId, channel: copy.channel, ts: copy.ts, ...message },
      { dedupKey: `credit-request-${request.id}-${request.status}-${copy.channel}-${copy.ts}` },
    );
  }
  if (request.memberSlackUserId) {
    await enqueueJob(
      tx,
      'slack.post',
      { teamId: request.teamId, channel: request.memberSlackUserId, text: creditRequestOutcome(request) },
      { dedupKey: `credit-request-${request.id}-outcome` },
    );
  }
}

function alreadyOpen(id: number | null): ConflictError {
  return new ConflictError(
    `You already have an open credit request${id === null ? '' : ` (#${id})`}; wait for its decision`,
  );
}

function notFound(id: number): NotFoundError {
  return new NotFoundError(`There is no credit request #${id}`);
}

function expiredError(request: CreditRequestView): ConflictError {
  return new ConflictError(
    `Credit request #${request.id} expired on ${request.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC; nothing changed`,
  );
}

function viewOf(row: RequestRow): CreditRequestView {
  return {
    id: row.id,
    teamId: row.team_id,
    currency: row.currency,
    memberId: row.member_id,
    memberName: row.member_name,
    memberSlackUserId: row.member_slack_user_id,
    amount: BigInt(row.amount),
    reason: row.reason,
    status: row.status,
    decidedById: row.decided_by_id,
    decidedByName: row.decided_by_name,
    decidedAt: row.decided_at === null ? null : new Date(row.decided_at),
    transferId: row.transfer_id,
    slackMessages: row.slack_messages,
    expiresAt: new Date(row.expires_at),
    createdAt: new Date(row.created_at),
  };
}

import type { EntityManager } from '@mikro-orm/postgresql';
import { recordAudit } from '../audit/audit.ts';
import { moveCreditLimit } from '../ledger/credit-limit-transfers.ts';
import { lockTeamAndMembers } from '../ledger/lock-order.ts';
import { applyPosting } from '../ledger/postings.ts';
import {
  type Caller,
  callerTeam,
  loadCaller,
  requireManager,
  requireSelfOrManager,
} from '../members/access.ts';
import { findMember, type MemberRef, teamDeciders } from '../members/lookups.ts';
import { type IMember, Member, ROLES, type Role } from '../members/member.entity.ts';
import type { MemberView } from '../members/views.ts';
import type { Orm } from '../platform/database.ts';
import { queryOne } from '../platform/sql.ts';
import { transact } from '../platform/transactions.ts';
import type { Actor } from '../shared/actor.ts';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../shared/errors.ts';
import { formatMoney } from '../shared/money.ts';
import {
  type IRoleChangeRequest,
  type RequestStatus,
  RoleChangeRequest,
} from './role-change-request.entity.ts';

export interface RoleChangeView {
  id: number;
  teamId: number;
  memberId: number;
  memberName: string;
  memberSlackUserId: string | null;
  fromRole: Role;
  toRole: Role;
  status: RequestStatus;
  requestedById: number;
  requestedByName: string;
  requestedBySlackUserId: string | null;
  decidedById: number | null;
  decidedByName: string | null;
  decidedAt: Date | null;
  slackChannel: string | null;
  slackTs: string | null;
  createdAt: Date;
}

/**
 * Role changes wait for an Approve or Deny from the owner or an admin. Handing over ownership
 * (and handing it back) needs the current owner; nobody but the owner approves their own request.
 */
export class ApprovalService {
  readonly #orm: Orm;
  constructor(orm: Orm) {
    this.#orm = orm;
  }

  async request(actor: Actor, input: { member: MemberRef; role: string }): Promise<RoleChangeView> {
    const toRole = requireRole(input.role);
    return transact(this.#orm.em.fork(), async (tx) => {
      const caller = await loadCaller(tx, actor);
      requireManager(caller, 'request role changes');
      if (caller.kind !== 'member')
        throw new ForbiddenError('Role changes are asked for by a member of the team');
      const member = await findMember(tx, callerTeam(caller), input.member);
      if (member.status !== 'active' && member.status !== 'inactive') {
        throw new ConflictError(
          `${member.name} is ${member.status}; only active or inactive members change roles`,
        );
      }
      if (member.role === toRole)
        throw new ConflictError(`${member.name} is already ${article(toRole)} ${toRole}`);
      if (member.role === 'owner') {
        throw new ForbiddenError(
          `The owner stays owner until someone else becomes owner: ask for /team role <member> owner`,
        );
      }
      if (toRole === 'owner' && member.status !== 'active') {
        throw new ConflictError(
          `${member.name} is ${member.status}; enable it before handing over ownership`,
        );
      }
      const pending = await tx.findOne(RoleChangeRequest, { member, status: 'pending' });
      if (pending) {
        throw new ConflictError(
          `${member.name} already has a pending role change (#${pending.id}) waiting for approval`,
        );
      }
      const request = tx.create(RoleChangeRequest, {
        team: member.team,
        member,
        fromRole: member.role,
        toRole,
        status: 'pending',
        requestedBy: await tx.findOneOrFail(Member, caller.member.id),
      });
      await tx.flush();
      await recordAudit(tx, {
        teamId: member.team.id,
        actor: caller.party,
        action: 'role.requested',
        subjectMemberId: member.id,
        details: { requestId: request.id, before: member.role, after: toRole },
      });
      return view(request);
    });
  }

  approve(actor: Actor, requestId: number): Promise<{ request: RoleChangeView; changed: boolean }> {
    return this.#decide(actor, requestId, 'approved');
  }

  deny(actor: Actor, requestId: number): Promise<{ request: RoleChangeView; changed: boolean }> {
    return this.#decide(actor, requestId, 'denied');
  }

  async get(actor: Actor, requestId: number): Promise<RoleChangeView> {
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    const request = await em.findOne(
      RoleChangeRequest,
      { id: requestId, team: callerTeam(caller) },
      { populate: ['member', 'requestedBy', 'decidedBy'] },
    );
    if (!request) throw new NotFoundError(`There is no role change request #${requestId}`);
    requireSelfOrManager(caller, request.member, "see other members' role changes");
    return view(request);
  }

  /** The active members who may decide the request, the owner first: whom to ask. */
  async approvers(actor: Actor, requestId: number): Promise<MemberView[]> {
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    requireManager(caller, 'see who approves role changes');
    const request = await em.findOne(
      RoleChangeRequest,
      { id: requestId, team: callerTeam(caller) },
      { populate: ['member', 'requestedBy'] },
    );
    if (!request) throw new NotFoundError(`There is no role change request #${requestId}`);
    return (await teamDeciders(em, request.team.id)).filter(
      (member) => refusalToDecide(member, decisionOf(request)) === null,
    );
  }

  /** Remembers the Slack message holding the buttons, so the outcome can replace it in place. */
  async recordSlackMessage(requestId: number, channel: string, ts: string): Promise<void> {
    await this.#orm.em
      .fork()
      .execute('update role_change_requests set slack_channel = ?, slack_ts = ? where id = ?', [
        channel,
        ts,
        requestId,
      ]);
  }

  async #decide(
    actor: Actor,
    requestId: number,
    decision: 'approved' | 'denied',
  ): Promise<{ request: RoleChangeView; changed: boolean }> {
    return transact(this.#orm.em.fork(), async (tx) => {
      const asked = await loadCaller(tx, actor);
      requireManager(asked, 'approve role changes');
      const teamId = callerTeam(asked);
      // Serialize decisions per team: two clicks at once, or two handovers, see each other. The
      // team row comes first, in the ledger's lock order (docs/ledger.md).
      await lockTeamAndMembers(tx, teamId, []);
      // Judge the caller as it is now: a handover approved while this call waited for the lock
      // may have made the owner an admin.
      tx.clear();
      const caller = await loadCaller(tx, actor);
      requireManager(caller, 'approve role changes');
      const request = await tx.findOne(
        RoleChangeRequest,
        { id: requestId, team: teamId },
        // No row lock of its own: the team row serializes every decision of the team, and a lock
        // here would also lock the joined members, out of the ledger's order.
        { populate: ['member', 'requestedBy', 'decidedBy'] },
      );
      if (!request) throw new NotFoundError(`There is no role change request #${requestId}`);
      // A second click, or a click on a request decided meanwhile, changes nothing.
      if (request.status !== 'pending') return { request: view(request), changed: false };
      requireApprover(caller, request);

      if (decision === 'approved') {
        // The members whose rows change — the member, and on a handover the owner too — by id.
        const owner = await queryOne<{ id: number }>(
          tx,
          `select id from members where team_id = ? and role = 'owner' and status <> 'closed'`,
          [teamId],
        );
        await lockTeamAndMembers(tx, null, [request.member.id, ...(owner ? [owner.id] : [])]);
        const member = await tx.findOneOrFail(Member, request.member.id, {
          populate: ['team'],
          refresh: true,
        });
        if (
          member.role !== request.fromRole ||
          (member.status !== 'active' && member.status !== 'inactive')
        ) {
          throw new ConflictError(
            `${member.name} is no longer ${article(request.fromRole)} ${request.fromRole}; ask again`,
          );
        }
        if (request.toRole === 'owner') await handOverOwnership(tx, request.id, member, caller);
        else member.role = request.toRole;
      }
      request.status = decision;
      request.decidedBy = caller.member ? await tx.findOneOrFail(Member, caller.member.id) : null;
      request.decidedAt = new Date();
      await tx.flush();
      await recordAudit(tx, {
        teamId,
        actor: caller.party,
        action: `role.${decision}`,
        subjectMemberId: request.member.id,
        details: { requestId: request.id, before: request.fromRole, after: request.toRole },
      });
      return { request: view(request), changed: true };
    });
  }
}

/**
 * The current owner becomes an admin (so the handover can be reversed), then the member becomes
 * owner. The owner's money is the master balance, so whatever the member's sub-account holds
 * joins the master balance first, as an ordinary debit on the ledger, and the credit limit it was
 * lent returns to the primary account; a member below zero must be credited first.
 */
async function handOverOwnership(
  tx: EntityManager,
  requestId: number,
  member: IMember,
  caller: Caller,
): Promise<void> {
  const teamId = member.team.id;
  const { balance, credit_limit, currency } = (await queryOne<{
    balance: string;
    credit_limit: string;
    currency: string;
  }>(
    tx,
    'select m.balance, m.credit_limit, t.currency from members m join teams t on t.id = m.team_id where m.id = ?',
    [member.id],
  ))!;
  if (BigInt(balance) < 0n) {
    throw new ConflictError(
      `${member.name} owes ${formatMoney(-BigInt(balance), currency)}: credit the member before it becomes the owner`,
    );
  }
  if (BigInt(credit_limit) > 0n) {
    await moveCreditLimit(tx, {
      teamId,
      memberId: member.id,
      direction: 'to_primary',
      amount: BigInt(credit_limit),
      reference: 'Became the owner: the credit limit returns to the primary account',
      actor: caller.party,
      settling: true,
    });
  }
  if (BigInt(balance) > 0n) {
    await applyPosting(tx, {
      teamId,
      kind: 'debit',
      memberId: member.id,
      amount: BigInt(balance),
      idempotencyKey: `ownership-request-${requestId}`,
      reason: 'Became the owner: the sub-account balance joins the master balance',
      actor: caller.party,
    });
  }
  const owner = await tx.findOne(Member, { team: teamId, role: 'owner', status: { $ne: 'closed' } });
  if (owner) {
    owner.role = 'admin';
    // The one-owner index is checked per statement: demote before promoting.
    await tx.flush();
  }
  member.role = 'owner';
}

interface Decision {
  toRole: Role;
  fromRole: Role;
  requestedById: number;
  memberId: number;
}

/**
 * Why this member may not decide the request, or null when it may: the owner and admins decide;
 * a change touching ownership needs the owner; nobody but the owner decides a change it asked for
 * or a change of its own role.
 */
function refusalToDecide(decider: { id: number; role: Role }, request: Decision): string | null {
  if (decider.role !== 'owner' && decider.role !== 'admin')
    return 'Only the owner and admins can approve role changes';
  if (decider.role === 'owner') return null;
  if (request.toRole === 'owner' || request.fromRole === 'owner')
    return 'Only the owner can approve handing over ownership';
  if (decider.id === request.requestedById)
    return 'You asked for this change; another owner or admin must decide it';
  if (decider.id === request.memberId) return 'You cannot decide a change of your own role';
  return null;
}

function requireApprover(caller: Caller, request: IRoleChangeRequest): void {
  if (caller.kind !== 'member') return;
  const refusal = refusalToDecide(caller.member, decisionOf(request));
  if (refusal) throw new ForbiddenError(refusal);
}

function decisionOf(request: IRoleChangeRequest): Decision {
  return {
    toRole: request.toRole,
    fromRole: request.fromRole,
    requestedById: request.requestedBy.id,
    memberId: request.member.id,
  };
}

function requireRole(value: string): Role {
  const role = value?.trim().toLowerCase();
  if (!(ROLES as readonly string[]).includes(role))
    throw new ValidationError('role', 'role must be owner, admin or user');
  return role as Role;
}

function article(role: Role): string {
  return role === 'owner' || role === 'admin' ? 'an' : 'a';
}

function view(request: IRoleChangeRequest): RoleChangeView {
  return {
    id: request.id,
    teamId: request.team.id,
    memberId: request.member.id,
    memberName: request.member.name,
    memberSlackUserId: request.member.slackUserId ?? null,
    fromRole: request.fromRole,
    toRole: request.toRole,
    status: request.status,
    requestedById: request.requestedBy.id,
    requestedByName: request.requestedBy.name,
    requestedBySlackUserId: request.requestedBy.slackUserId ?? null,
    decidedById: request.decidedBy?.id ?? null,
    decidedByName: request.decidedBy?.name ?? null,
    decidedAt: request.decidedAt ?? null,
    slackChannel: request.slackChannel ?? null,
    slackTs: request.slackTs ?? null,
    createdAt: request.createdAt,
  };
}

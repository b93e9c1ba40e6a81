import { recordAudit } from '../audit/audit.ts';
import { callerTeam, loadCaller, requireManager, requireSelfOrManager } from '../members/access.ts';
import { findMember, type MemberRef } from '../members/lookups.ts';
import type { Orm } from '../platform/database.ts';
import { queryOne } from '../platform/sql.ts';
import { transact } from '../platform/transactions.ts';
import type { Actor } from '../shared/actor.ts';
import { ConflictError, ValidationError } from '../shared/errors.ts';
import { parseAmount } from '../shared/money.ts';
import { lockTeamAndMembers } from './lock-order.ts';
import { type MonthSpend, monthSpendOf, recountMonthSpend } from './spending-limits.ts';

export const LIMIT_PERIODS = ['monthly'] as const;

export interface SpendingLimitView extends MonthSpend {
  memberId: number;
  memberName: string;
  currency: string;
}

/**
 * `/team limit <member> <amount> monthly | off` and the API: the owner and admins cap what a
 * member may spend per calendar month of the team's timezone. The charge path enforces it
 * (spending-limits.ts); this service sets, removes and shows it.
 */
export class SpendingLimitService {
  readonly #orm: Orm;
  constructor(orm: Orm) {
    this.#orm = orm;
  }

  /** Sets (or replaces) the member's monthly limit; what it already spent this month counts. */
  async set(
    actor: Actor,
    input: { member: MemberRef; amount: string | number; period?: string | null },
  ): Promise<SpendingLimitView> {
    const monthlyLimit = parseAmount(input.amount, 'amount');
    requirePeriod(input.period);
    return transact(this.#orm.em.fork(), async (tx) => {
      const caller = await loadCaller(tx, actor);
      requireManager(caller, 'set spending limits');
      const member = await findMember(tx, callerTeam(caller), input.member);
      // The member before what it owns, in the ledger's lock order (docs/ledger.md): charges of
      // this member wait, and then see the new limit.
      await lockTeamAndMembers(tx, null, [member.id]);
      if (member.status === 'closed') throw new ConflictError(`${member.name} is closed`);
      const before = await queryOne<{ monthly_limit: string }>(
        tx,
        'select monthly_limit from spending_limits where member_id = ?',
        [member.id],
      );
      await tx.execute(
        `insert into spending_limits (member_id, team_id, monthly_limit, created_at, updated_at)
         values (?, ?, ?, now(), now())
         on conflict (member_id) do update set monthly_limit = excluded.monthly_limit, updated_at = now()`,
        [member.id, member.team.id, monthlyLimit.toString()],
      );
      if (!before) await recountMonthSpend(tx, [member.id]);
      await recordAudit(tx, {
        teamId: member.team.id,
        actor: caller.party,
        action: 'spending_limit.set',
        subjectMemberId: member.id,
        details: {
          before: before ? { monthlyLimit: BigInt(before.monthly_limit) } : null,
          after: { monthlyLimit },
        },
      });
      const spend = (await monthSpendOf(tx, [member.id])).get(member.id)!;
      return { ...spend, memberId: member.id, memberName: member.name, currency: member.team.currency };
    });
  }

  async off(
    actor: Actor,
    ref: MemberRef,
  ): Promise<{ memberId: number; memberName: string; removed: boolean }> {
    return transact(this.#orm.em.fork(), async (tx) => {
      const caller = await loadCaller(tx, actor);
      requireManager(caller, 'remove spending limits');
      const member = await findMember(tx, callerTeam(caller), ref);
      await lockTeamAndMembers(tx, null, [member.id]);
      const removed = await queryOne<{ monthly_limit: string }>(
        tx,
        'delete from spending_limits where member_id = ? returning monthly_limit',
        [member.id],
      );
      const answer = { memberId: member.id, memberName: member.name, removed: removed !== undefined };
      if (removed === undefined) return answer;
      // Spend is only kept while there is a limit; a new limit recounts it from the transfers.
      await tx.execute('delete from member_monthly_spend where member_id = ?', [member.id]);
      await recordAudit(tx, {
        teamId: member.team.id,
        actor: caller.party,
        action: 'spending_limit.off',
        subjectMemberId: member.id,
        details: { before: { monthlyLimit: BigInt(removed.monthly_limit) } },
      });
      return answer;
    });
  }

  /** The member's limit with this month's spend, or null without one (the member or a manager may ask). */
  async get(actor: Actor, ref: MemberRef): Promise<SpendingLimitView | null> {
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    const member = await findMember(em, callerTeam(caller), ref);
    requireSelfOrManager(caller, member, "see other members' spending limits");
    const spend = (await monthSpendOf(em, [member.id])).get(member.id);
    return spend
      ? { ...spend, memberId: member.id, memberName: member.name, currency: member.team.currency }
      : null;
  }

  /** For pages that list members (App Home): the limits of those of the caller's team that have one. */
  async ofMembers(actor: Actor, memberIds: readonly number[]): Promise<Map<number, MonthSpend>> {
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    const spends = await monthSpendOf(em, memberIds, callerTeam(caller));
    // A user sees its own limit only, as everywhere else.
    if (caller.kind === 'member' && caller.member.role === 'user')
      for (const id of spends.keys()) if (id !== caller.member.id) spends.delete(id);
    return spends;
  }
}

function requirePeriod(period: string | null | undefined): void {
  const text = period?.trim().toLowerCase() || 'monthly';
  if (!(LIMIT_PERIODS as readonly string[]).includes(text))
    throw new ValidationError('period', `period must be monthly, not "${text.slice(0, 20)}"`);
}

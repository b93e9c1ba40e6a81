import { recordAudit } from '../audit/audit.ts';
import type { JobPayload } from '../jobs/jobs.ts';
import type { Logger } from '../logger.ts';
import { callerTeam, loadCaller, requireManager } from '../members/access.ts';
import { findMember, type MemberRef } from '../members/lookups.ts';
import { enqueueJob } from '../outbox/outbox.ts';
import type { Orm } from '../platform/database.ts';
import { transact } from '../platform/transactions.ts';
import type { Actor } from '../shared/actor.ts';
import { ConflictError, ValidationError } from '../shared/errors.ts';
import { type Micros, parseAmount } from '../shared/money.ts';
import { AutoRechargeRule } from './auto-recharge-rule.entity.ts';
import { type BalanceLowOutcome, handleBalanceLow } from './balance-low.ts';
import { lockTeamAndMembers } from './lock-order.ts';

export interface AutoRechargeView {
  memberId: number;
  threshold: Micros;
  amount: Micros;
  dailyCap: Micros | null;
}

export class AutoRechargeService {
  readonly #orm: Orm;
  constructor(orm: Orm) {
    this.#orm = orm;
  }

  /** Sets (or replaces) the member's rule. A member already below the new threshold is recharged soon after. */
  async set(
    actor: Actor,
    input: {
      member: MemberRef;
      threshold: string | number;
      amount: string | number;
      dailyCap?: string | number | null;
    },
  ): Promise<AutoRechargeView> {
    const threshold = parseAmount(input.threshold, 'threshold', { allowZero: true });
    const amount = parseAmount(input.amount, 'amount');
    const dailyCap =
      input.dailyCap === undefined || input.dailyCap === null || input.dailyCap === ''
        ? null
        : parseAmount(input.dailyCap, 'daily cap');
    if (dailyCap !== null && dailyCap < amount) {
      throw new ValidationError('daily cap', 'daily cap must be at least the recharge amount');
    }
    return transact(this.#orm.em.fork(), async (tx) => {
      const caller = await loadCaller(tx, actor);
      requireManager(caller, 'set auto-recharge');
      const member = await findMember(tx, callerTeam(caller), input.member);
      // The member before its rule, in the ledger's lock order (docs/ledger.md).
      await lockTeamAndMembers(tx, null, [member.id]);
      if (member.status === 'closed' || member.status === 'invited' || member.role === 'owner') {
        throw new ConflictError(`${member.name} cannot have an auto-recharge rule`);
      }
      const existing = await tx.findOne(AutoRechargeRule, { member });
      const before = existing
        ? { threshold: existing.threshold, amount: existing.amount, dailyCap: existing.dailyCap ?? null }
        : null;
      const rule = existing ?? tx.create(AutoRechargeRule, { member, threshold, amount, dailyCap });
      rule.threshold = threshold;
      rule.amount = amount;
      rule.dailyCap = dailyCap;
      await tx.flush();
      if (member.balance < threshold) {
        await enqueueJob(tx, 'member.balance_low', {
          teamId: member.team.id,
          memberId: member.id,
          transferId: null,
        });
      }
      await recordAudit(tx, {
        teamId: member.team.id,
        actor: caller.party,
        action: 'autorecharge.set',
        subjectMemberId: member.id,
        details: { before, after: { threshold, amount, dailyCap } },
      });
      return { memberId: member.id, threshold, amount, dailyCap };
    });
  }

  async off(actor: Actor, ref: MemberRef): Promise<{ memberId: number; removed: boolean }> {
    return transact(this.#orm.em.fork(), async (tx) => {
      const caller = await loadCaller(tx, actor);
      requireManager(caller, 'turn off auto-recharge');
      const member = await findMember(tx, callerTeam(caller), ref);
      // The member before its rule, in the ledger's lock order (docs/ledger.md).
      await lockTeamAndMembers(tx, null, [member.id]);
      const rule = await tx.findOne(AutoRechargeRule, { member });
      if (!rule) return { memberId: member.id, removed: false };
      tx.remove(rule);
      await tx.flush();
      await recordAudit(tx, {
        teamId: member.team.id,
        actor: caller.party,
        action: 'autorecharge.off',
        subjectMemberId: member.id,
        details: {
          before: { threshold: rule.threshold, amount: rule.amount, dailyCap: rule.dailyCap ?? null },
        },
      });
      return { memberId: member.id, removed: true };
    });
  }

  /**
   * The `member.balance_low` job: recharge the member by its rule, or alert (balance-low.ts).
   * A receipt keyed by the job id makes a second run do nothing.
   */
  handleBalanceLow(
    payload: JobPayload<'member.balance_low'>,
    jobId: string,
    logger: Logger,
  ): Promise<BalanceLowOutcome> {
    return handleBalanceLow(this.#orm, logger, payload, jobId);
  }
}

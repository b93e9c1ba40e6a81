import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Member } from '../members/member.entity.ts';
import { Team } from '../teams/team.entity.ts';

/**
 * A member may spend at most `monthlyLimit` per calendar month of the team's timezone: charges
 * minus refunds, whichever balance pays (its own, or the master balance for the owner and for
 * members sharing it). Not Vonage's credit_limit, which lets a balance go below zero.
 */
export const SpendingLimit = defineEntity({
  name: 'SpendingLimit',
  tableName: 'spending_limits',
  properties: {
    member: () => p.oneToOne(Member).primary().owner(),
    team: () => p.manyToOne(Team),
    monthlyLimit: p.bigint(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
  indexes: [{ name: 'spending_limits_team', properties: ['team'] }],
  checks: [{ name: 'spending_limit_positive', expression: 'monthly_limit > 0' }],
  // members.spending_limited follows whether the member has a row here (member.entity.ts).
  triggers: [
    {
      name: 'spending_limits_mark_member',
      timing: 'after',
      events: ['insert', 'delete'],
      expression: `create function teamops_mark_spending_limited() returns trigger language plpgsql as $$
          begin
            if tg_op = 'INSERT' then
              update members set spending_limited = true where id = new.member_id;
            else
              update members set spending_limited = false where id = old.member_id;
            end if;
            return null;
          end
        $$;
        create trigger spending_limits_mark_member
          after insert or delete on spending_limits
          for each row execute function teamops_mark_spending_limited()`,
    },
  ],
});
export type ISpendingLimit = InferEntity<typeof SpendingLimit>;

/**
 * What a member with a spending limit spent in one month (`month`: its first day, in the team's
 * timezone): kept by the charge and refund transactions themselves, so the guard reads one row.
 * `warnedAt`: when the 80% warning of this month was enqueued (once per month).
 */
export const MonthlySpend = defineEntity({
  name: 'MonthlySpend',
  tableName: 'member_monthly_spend',
  properties: {
    member: () => p.manyToOne(Member).primary(),
    month: p.date().primary(),
    spent: p.bigint().default(0),
    warnedAt: p.datetime().nullable(),
  },
});
export type IMonthlySpend = InferEntity<typeof MonthlySpend>;

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

import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/** The master account: its balance is what the owner and admins hand out to members. */
export const Team = defineEntity({
  name: 'Team',
  tableName: 'teams',
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string().length(100),
    currency: p.string().length(3),
    slackTeamId: p.string().length(32).nullable().unique(),
    masterBalance: p.bigint().default(0),
    /**
     * How far below zero the master balance may go: the primary account's own credit facility,
     * set by the operator; credit transfers lend parts of it to members and take them back.
     */
    creditLimit: p.bigint().default(0),
    alertsChannel: p.string().length(32).nullable(),
    /** Members without an auto-recharge rule are alerted when their balance falls below this. */
    lowBalanceLevel: p.bigint().default(1_000_000),
    digestChannel: p.string().length(32).nullable(),
    digestFrequency: p.enum(['daily', 'weekly'] as const).nullable(),
    digestTime: p.string().length(5).nullable(),
    /** Null: the team's timezone. */
    digestTimezone: p.string().length(64).nullable(),
    /** IANA zone of the team's days and months (statistics, spending limits, digests). */
    timezone: p.string().length(64).default('UTC'),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
  checks: [
    { name: 'teams_master_balance_within_credit_limit', expression: 'master_balance >= -credit_limit' },
    { name: 'teams_credit_limit_not_negative', expression: 'credit_limit >= 0' },
  ],
});
export type ITeam = InferEntity<typeof Team>;

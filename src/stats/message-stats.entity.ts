import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Member } from '../members/member.entity.ts';
import { Team } from '../teams/team.entity.ts';

/**
 * One member's messages of one UTC day (the day each message was created), kept up to date in
 * the transaction that charges, delivers, fails or refunds them, so statistics never scan the log.
 * `cost` is what was charged and `refunded` what came back: the member spent `cost - refunded`.
 */
export const MessageStatsDaily = defineEntity({
  name: 'MessageStatsDaily',
  tableName: 'message_stats_daily',
  properties: {
    member: () => p.manyToOne(Member).primary(),
    day: p.date().primary(),
    team: () => p.manyToOne(Team),
    messages: p.bigint('number').default(0),
    parts: p.bigint('number').default(0),
    cost: p.bigint().default(0),
    refunded: p.bigint().default(0),
    delivered: p.bigint('number').default(0),
    failed: p.bigint('number').default(0),
  },
  indexes: [{ name: 'message_stats_daily_team_day', properties: ['team', 'day'] }],
});
export type IMessageStatsDaily = InferEntity<typeof MessageStatsDaily>;

import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Team } from '../teams/team.entity.ts';

/**
 * The price of one SMS part to numbers starting with `prefix` (E.164 digits without "+"); the
 * longest matching prefix wins and the empty prefix is the team's default price.
 */
export const MessagePrice = defineEntity({
  name: 'MessagePrice',
  tableName: 'message_prices',
  properties: {
    id: p.integer().primary().autoincrement(),
    team: () => p.manyToOne(Team),
    prefix: p.string().length(15),
    price: p.bigint(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
  uniques: [{ name: 'message_prices_team_prefix', properties: ['team', 'prefix'] }],
  checks: [
    { name: 'message_prices_prefix_digits', expression: "prefix ~ '^[0-9]{0,15}$'" },
    { name: 'message_prices_price_positive', expression: 'price > 0' },
  ],
});
export type IMessagePrice = InferEntity<typeof MessagePrice>;

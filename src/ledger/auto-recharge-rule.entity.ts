import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Member } from '../members/member.entity.ts';

/** When the member's balance falls below `threshold`, move `amount` from master (at most `dailyCap` a day). */
export const AutoRechargeRule = defineEntity({
  name: 'AutoRechargeRule',
  tableName: 'auto_recharge_rules',
  properties: {
    member: () => p.oneToOne(Member).primary().owner(),
    threshold: p.bigint(),
    amount: p.bigint(),
    dailyCap: p.bigint().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
  },
  checks: [
    { name: 'auto_recharge_amount_positive', expression: 'amount > 0 and threshold >= 0' },
    { name: 'auto_recharge_cap_covers_amount', expression: 'daily_cap is null or daily_cap >= amount' },
  ],
});
export type IAutoRechargeRule = InferEntity<typeof AutoRechargeRule>;

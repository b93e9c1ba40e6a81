import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Member } from '../members/member.entity.ts';
import { ACTOR_KINDS, CHANNELS } from '../shared/actor.ts';
import { Team } from '../teams/team.entity.ts';

/**
 * What a transfer moved, and between what. `null` on a side means the master balance, except
 * for top-ups (from outside into master) and charges/refunds (between a member and outside).
 * The owner's own messages are paid from the master balance: `master_message_charge` and
 * `master_refund` move money between the master balance and outside, and name the owner who
 * sent as their member.
 */
export const TRANSFER_KINDS = [
  'master_topup',
  'credit',
  'debit',
  'auto_recharge',
  'message_charge',
  'refund',
  'close_out',
  'master_message_charge',
  'master_refund',
  // Moves credit limit, not money: between the primary account's facility and a member's.
  'credit_limit_transfer',
] as const;
export type TransferKind = (typeof TRANSFER_KINDS)[number];

/** One immutable ledger entry. Rows are only ever inserted. */
export const Transfer = defineEntity({
  name: 'Transfer',
  tableName: 'transfers',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    team: () => p.manyToOne(Team),
    kind: p.enum(TRANSFER_KINDS),
    /** The member the money left; null = the master balance or outside (top-up, refund). */
    fromMember: () => p.manyToOne(Member).nullable(),
    /** The member the money reached; null = the master balance or outside (charge). */
    toMember: () => p.manyToOne(Member).nullable(),
    amount: p.bigint(),
    /** Unique per team: the same key with the same request returns the first result. */
    idempotencyKey: p.string().length(200),
    /** Fingerprint of what was asked, to refuse a reused key with different parameters. */
    requestHash: p.string().length(64),
    reason: p.string().length(500).nullable(),
    actorKind: p.enum(ACTOR_KINDS),
    actorMember: () => p.manyToOne(Member).nullable(),
    via: p.enum(CHANNELS),
    masterBalanceAfter: p.bigint().nullable(),
    memberBalanceAfter: p.bigint().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
  uniques: [{ name: 'transfers_idempotency_key', properties: ['team', 'idempotencyKey'] }],
  checks: [{ name: 'transfers_amount_positive', expression: 'amount > 0' }],
  indexes: [
    { name: 'transfers_team', properties: ['team', 'id'] },
    { name: 'transfers_from_member', properties: ['fromMember', 'id'] },
    { name: 'transfers_to_member', properties: ['toMember', 'id'] },
  ],
});
export type ITransfer = InferEntity<typeof Transfer>;

import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Transfer } from '../ledger/transfer.entity.ts';
import { Member } from '../members/member.entity.ts';
import { Team } from '../teams/team.entity.ts';

/** queued → sent → delivered, or failed from queued or sent; delivered and failed are final. */
export const MESSAGE_STATUSES = ['queued', 'sent', 'delivered', 'failed'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];
export const ENCODINGS = ['gsm7', 'ucs2'] as const;

/** One SMS to one recipient, charged when it is accepted and refunded once if it fails. */
export const Message = defineEntity({
  name: 'Message',
  tableName: 'messages',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    team: () => p.manyToOne(Team),
    member: () => p.manyToOne(Member),
    /** E.164. */
    recipient: p.string().length(16),
    body: p.text(),
    senderId: p.string().length(16).nullable(),
    encoding: p.enum(ENCODINGS),
    parts: p.integer(),
    /** Price per part at the time of sending, from the team's price list. */
    unitPrice: p.bigint(),
    cost: p.bigint(),
    status: p.enum(MESSAGE_STATUSES),
    provider: p.string().length(16),
    providerMessageId: p.string().length(100).nullable(),
    error: p.string().length(500).nullable(),
    /** The sender's Idempotency-Key and the recipient's position in that request: a retry replays. */
    requestKey: p.string().length(200).nullable(),
    requestIndex: p.integer().nullable(),
    /** The transfer that paid for it (one charge may pay for a whole batch of messages). */
    chargeTransfer: () => p.manyToOne(Transfer),
    refundTransfer: () => p.manyToOne(Transfer).nullable(),
    refundedAt: p.datetime().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    sentAt: p.datetime().nullable(),
    /** When it reached delivered or failed. */
    finishedAt: p.datetime().nullable(),
  },
  checks: [
    { name: 'messages_cost_is_parts_times_price', expression: 'cost = parts * unit_price and parts > 0' },
  ],
  indexes: [
    { name: 'messages_team', properties: ['team', 'id'] },
    { name: 'messages_member', properties: ['member', 'id'] },
    { name: 'messages_team_recipient', properties: ['team', 'recipient', 'id'] },
    {
      name: 'messages_request_key',
      expression:
        'create unique index messages_request_key on messages (member_id, request_key, request_index) where request_key is not null',
    },
    {
      name: 'messages_provider_message_id',
      expression:
        'create unique index messages_provider_message_id on messages (provider, provider_message_id) where provider_message_id is not null',
    },
  ],
});
export type IMessage = InferEntity<typeof Message>;

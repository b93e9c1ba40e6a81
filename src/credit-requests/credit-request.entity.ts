import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Member } from '../members/member.entity.ts';
import { Team } from '../teams/team.entity.ts';

export const CREDIT_REQUEST_STATUSES = ['open', 'approved', 'denied', 'expired'] as const;
export type CreditRequestStatus = (typeof CREDIT_REQUEST_STATUSES)[number];

/** Where one copy of the Approve / Deny message went: `target` is the channel or user it was sent to. */
export interface SlackMessageRef {
  target: string;
  channel: string;
  ts: string;
}

/**
 * A member asking for credit from the master balance, decided once by the owner or an admin, or
 * expired after seven days. At most one request per member is open (a partial unique index).
 */
export const CreditRequest = defineEntity({
  name: 'CreditRequest',
  tableName: 'credit_requests',
  properties: {
    id: p.integer().primary().autoincrement(),
    team: () => p.manyToOne(Team),
    member: () => p.manyToOne(Member),
    amount: p.bigint(),
    reason: p.text().nullable(),
    status: p.enum(CREDIT_REQUEST_STATUSES),
    decidedBy: () => p.manyToOne(Member).nullable(),
    decidedAt: p.datetime().nullable(),
    /** The credit an approval made. */
    transferId: p.bigint('string').nullable(),
    /** Every copy of the request message, so the outcome replaces each in place. */
    slackMessages: p.json<SlackMessageRef[]>().default('[]'),
    expiresAt: p.datetime(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
  checks: [{ name: 'credit_requests_amount_positive', expression: 'amount > 0' }],
  indexes: [
    {
      name: 'credit_requests_one_open_per_member',
      expression:
        "create unique index credit_requests_one_open_per_member on credit_requests (member_id) where status = 'open'",
    },
    // The lists, newest first per team; the expiry sweep finds open requests by their deadline.
    { name: 'credit_requests_team_id', properties: ['team', 'id'] },
    {
      name: 'credit_requests_open_expiry',
      expression:
        "create index credit_requests_open_expiry on credit_requests (expires_at) where status = 'open'",
    },
  ],
});
export type ICreditRequest = InferEntity<typeof CreditRequest>;

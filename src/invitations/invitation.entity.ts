import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Member } from '../members/member.entity.ts';
import { Team } from '../teams/team.entity.ts';

export const INVITATION_STATUSES = ['pending', 'accepted', 'revoked', 'expired'] as const;
export type InvitationStatus = (typeof INVITATION_STATUSES)[number];
export const DELIVERY_STATUSES = ['queued', 'sent', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * An invitation to join a team as a member: a single-use token with an expiry. The token is
 * never stored: it is derived from the server secret and `tokenNonce` (invitation-token.ts);
 * `tokenHash` finds the invitation when the link is used.
 */
export const Invitation = defineEntity({
  name: 'Invitation',
  tableName: 'invitations',
  properties: {
    id: p.integer().primary().autoincrement(),
    team: () => p.manyToOne(Team),
    email: p.string().length(254).nullable(),
    /** Invited by Slack mention: a DM with Accept / Decline instead of an email. */
    slackUserId: p.string().length(32).nullable(),
    role: p.enum(['admin', 'user'] as const),
    tokenHash: p.string().length(64).unique(),
    /** Random; with the server secret it yields the token. A re-send draws a new one. */
    tokenNonce: p.string().length(32),
    status: p.enum(INVITATION_STATUSES),
    expiresAt: p.datetime(),
    invitedBy: () => p.manyToOne(Member).nullable(),
    /** The sub-account (status `invited`) that accepting activates. */
    member: () => p.manyToOne(Member),
    /** `queued` until delivered (`sent`) or given up (`failed`); it stays `queued` while attempts remain. */
    deliveryStatus: p.enum(DELIVERY_STATUSES).default('queued'),
    /** The last failed attempt's reason: kept while retrying and on `failed`, cleared on `sent`. */
    deliveryError: p.string().length(500).nullable(),
    /** Delivery attempts made so far (the failed ones, and the one that went through). */
    deliveryAttempts: p.integer().default(0),
    /** How many attempts delivery gets in all; null until the first attempt is recorded. */
    deliveryMaxAttempts: p.integer().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    decidedAt: p.datetime().nullable(),
  },
  indexes: [
    {
      name: 'invitations_pending_email',
      expression:
        "create unique index invitations_pending_email on invitations (team_id, lower(email)) where status = 'pending'",
    },
  ],
});
export type IInvitation = InferEntity<typeof Invitation>;

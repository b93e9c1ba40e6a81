import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Member, ROLES } from '../members/member.entity.ts';
import { Team } from '../teams/team.entity.ts';

export const REQUEST_STATUSES = ['pending', 'approved', 'denied'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

/** A request to change a member's role, decided once by an owner or admin. */
export const RoleChangeRequest = defineEntity({
  name: 'RoleChangeRequest',
  tableName: 'role_change_requests',
  properties: {
    id: p.integer().primary().autoincrement(),
    team: () => p.manyToOne(Team),
    member: () => p.manyToOne(Member),
    fromRole: p.enum(ROLES),
    toRole: p.enum(ROLES),
    status: p.enum(REQUEST_STATUSES),
    requestedBy: () => p.manyToOne(Member),
    decidedBy: () => p.manyToOne(Member).nullable(),
    decidedAt: p.datetime().nullable(),
    /** Where the Approve / Deny message was posted, so it can be updated in place. */
    slackChannel: p.string().length(32).nullable(),
    slackTs: p.string().length(32).nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IRoleChangeRequest = InferEntity<typeof RoleChangeRequest>;

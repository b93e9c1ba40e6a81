import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { Member } from '../members/member.entity.ts';
import { ACTOR_KINDS, CHANNELS } from '../shared/actor.ts';
import { Team } from '../teams/team.entity.ts';

/** Who did what, through which channel, with the values before and after. Append-only. */
export const AuditEvent = defineEntity({
  name: 'AuditEvent',
  tableName: 'audit_events',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    team: () => p.manyToOne(Team),
    actorKind: p.enum(ACTOR_KINDS),
    actorMember: () => p.manyToOne(Member).nullable(),
    via: p.enum(CHANNELS),
    action: p.string().length(64),
    subjectMember: () => p.manyToOne(Member).nullable(),
    details: p.json<Record<string, unknown>>(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
  indexes: [{ name: 'audit_events_team', properties: ['team', 'id'] }],
});
export type IAuditEvent = InferEntity<typeof AuditEvent>;

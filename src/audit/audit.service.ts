import { callerTeam, loadCaller, requireManager } from '../members/access.ts';
import type { Orm } from '../platform/database.ts';
import type { Actor } from '../shared/actor.ts';
import { pagingNumber } from '../shared/validation.ts';
import { AuditEvent } from './audit-event.entity.ts';

export interface AuditView {
  id: string;
  actorKind: string;
  actorMemberId: number | null;
  via: string;
  action: string;
  subjectMemberId: number | null;
  details: Record<string, unknown>;
  createdAt: Date;
}

export class AuditService {
  readonly #orm: Orm;
  constructor(orm: Orm) {
    this.#orm = orm;
  }

  /** The team's audit trail, newest first; `before` (an event id) continues below an earlier page. */
  async list(
    actor: Actor,
    input: { limit?: number; teamId?: number; before?: string | null } = {},
  ): Promise<AuditView[]> {
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    requireManager(caller, 'read the audit trail');
    const events = await em.find(
      AuditEvent,
      { team: callerTeam(caller, input.teamId), ...(input.before ? { id: { $lt: input.before } } : {}) },
      { orderBy: { id: 'desc' }, limit: pagingNumber(input.limit, 'limit', 100, 1, 500) },
    );
    return events.map((event) => ({
      id: event.id,
      actorKind: event.actorKind,
      actorMemberId: event.actorMember?.id ?? null,
      via: event.via,
      action: event.action,
      subjectMemberId: event.subjectMember?.id ?? null,
      details: event.details,
      createdAt: event.createdAt,
    }));
  }
}

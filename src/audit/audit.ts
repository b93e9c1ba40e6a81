import type { EntityManager } from '@mikro-orm/postgresql';
import { run } from '../platform/sql.ts';
import type { ActingParty } from '../shared/actor.ts';

export interface AuditEntry {
  teamId: number;
  actor: ActingParty;
  action: string;
  subjectMemberId?: number | null;
  /** Before/after values and anything else needed to understand the change later. */
  details: Record<string, unknown>;
}

/** Appends an audit event in the caller's transaction, so it exists exactly when the change does. */
export async function recordAudit(em: EntityManager, entry: AuditEntry): Promise<void> {
  await run(
    em,
    `insert into audit_events (team_id, actor_kind, actor_member_id, via, action, subject_member_id, details, created_at)
     values (?, ?, ?, ?, ?, ?, ?::jsonb, now())`,
    [
      entry.teamId,
      entry.actor.kind,
      entry.actor.memberId,
      entry.actor.via,
      entry.action,
      entry.subjectMemberId ?? null,
      JSON.stringify(entry.details, jsonMoney),
    ],
  );
}

/** Audit details hold bigint micro-units; JSON has no bigint, so they are kept as exact strings. */
export function jsonMoney(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

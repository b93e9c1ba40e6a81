import type { EntityManager } from '@mikro-orm/postgresql';
import { run } from '../platform/sql.ts';
import type { Micros } from '../shared/money.ts';

/**
 * A change to one member's statistics for one day. Callers apply it in the same transaction as
 * the change to the log it mirrors, so the rollup always equals an aggregate over the log.
 */
export interface RollupDelta {
  teamId: number;
  memberId: number;
  /** The team's local day the messages were created (YYYY-MM-DD); null for the team's "today". */
  day: string | null;
  messages?: number;
  parts?: number;
  cost?: Micros;
  refunded?: Micros;
  delivered?: number;
  failed?: number;
}

/**
 * The one definition of "which day a message belongs to": the date of the timestamp in the
 * team's timezone at the time it is asked (`teamId`: SQL naming the team). Rollup rows are
 * written with it when a message is charged, so a change of timezone moves the buckets of later
 * messages only (docs/messaging.md, "Days and the team's timezone").
 */
export const TEAM_DAY_SQL = (column: string, teamId: string) =>
  `(${column} at time zone (select tz.timezone from teams tz where tz.id = ${teamId}))::date`;

/**
 * Adds the deltas in one statement. Deltas for the same member and day are merged first (one
 * upsert may touch a row only once), and rows are written in key order so two transactions
 * touching the same rows queue behind each other instead of deadlocking.
 */
export async function applyRollupDeltas(em: EntityManager, deltas: readonly RollupDelta[]): Promise<void> {
  const merged = new Map<string, Required<RollupDelta>>();
  for (const d of deltas) {
    const key = `${d.memberId}|${d.day ?? ''}`;
    const row = merged.get(key) ?? {
      teamId: d.teamId,
      memberId: d.memberId,
      day: d.day,
      messages: 0,
      parts: 0,
      cost: 0n,
      refunded: 0n,
      delivered: 0,
      failed: 0,
    };
    row.messages += d.messages ?? 0;
    row.parts += d.parts ?? 0;
    row.cost += d.cost ?? 0n;
    row.refunded += d.refunded ?? 0n;
    row.delivered += d.delivered ?? 0;
    row.failed += d.failed ?? 0;
    merged.set(key, row);
  }
  if (merged.size === 0) return;
  const rows = [...merged.values()]
    .sort((a, b) => a.memberId - b.memberId || (a.day ?? '').localeCompare(b.day ?? ''))
    .map((r, seq) => ({
      seq,
      team_id: r.teamId,
      member_id: r.memberId,
      day: r.day,
      messages: r.messages,
      parts: r.parts,
      cost: r.cost.toString(),
      refunded: r.refunded.toString(),
      delivered: r.delivered,
      failed: r.failed,
    }));
  await run(
    em,
    rollupUpsertSql(
      `select d.member_id, coalesce(d.day, ${TEAM_DAY_SQL('now()', 'd.team_id')}) as day, d.team_id, d.messages, d.parts, d.cost,
              d.refunded, d.delivered, d.failed
         from jsonb_to_recordset(?::jsonb) as d(seq int, team_id int, member_id int, day date, messages bigint,
              parts bigint, cost bigint, refunded bigint, delivered bigint, failed bigint)
        order by d.seq`,
    ),
    [JSON.stringify(rows)],
  );
}

/**
 * The upsert that adds rows to the rollup: `source` is a query giving (member_id, day, team_id,
 * messages, parts, cost, refunded, delivered, failed), at most one row per member and day.
 * Shared so a caller can add its rows inside a statement of its own (a CTE), saving a round trip.
 */
export function rollupUpsertSql(source: string): string {
  return `insert into message_stats_daily as s (member_id, day, team_id, messages, parts, cost, refunded, delivered, failed)
     ${source}
     on conflict (member_id, day) do update set
       messages = s.messages + excluded.messages,
       parts = s.parts + excluded.parts,
       cost = s.cost + excluded.cost,
       refunded = s.refunded + excluded.refunded,
       delivered = s.delivered + excluded.delivered,
       failed = s.failed + excluded.failed`;
}

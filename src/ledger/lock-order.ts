import type { EntityManager } from '@mikro-orm/postgresql';
import { run } from '../platform/sql.ts';

/**
 * Takes the row locks of a path that changes a team's members outside the ledger (closes, role
 * decisions, invitations, auto-recharge rules) in the one lock order of docs/ledger.md: the team
 * row, then the members by id, each `FOR NO KEY UPDATE`. That strength excludes every other
 * writer of these rows but not the `KEY SHARE` locks that foreign keys take when a concurrent
 * charge inserts its transfer, message and audit rows, so such a path never waits on a charge
 * that is itself waiting on it. Rows the path owns below a member (its rule, its invitation,
 * its role requests) are locked after this returns.
 */
export async function lockTeamAndMembers(
  em: EntityManager,
  teamId: number | null,
  memberIds: readonly number[],
): Promise<void> {
  if (teamId !== null) await run(em, 'select id from teams where id = ? for no key update', [teamId]);
  if (memberIds.length === 0) return;
  await run(
    em,
    `select id from members where id = any(array(select jsonb_array_elements_text(?::jsonb)::int))
      order by id for no key update`,
    [JSON.stringify([...new Set(memberIds)])],
  );
}

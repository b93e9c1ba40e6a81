import type { Orm } from '../platform/database.ts';
import { queryOne, run } from '../platform/sql.ts';

/**
 * Slack's rate limits count per workspace (per token), so a 429 holds back the posts of that
 * workspace only. The hold lives in the database, shared by every worker process. A post for a
 * held workspace claims the next free slot after the hold and waits as a delayed job until
 * then: when the hold ends its backlog goes out one post per SLOT_MS, not all at once into
 * another 429, and each waiting post costs the queue one pick, so the other workspaces' posts
 * keep their pace.
 */
export const SLOT_MS = 250;

export class WorkspaceRateLimits {
  readonly #orm: Orm;

  constructor(orm: Orm) {
    this.#orm = orm;
  }

  /**
   * When a post for the workspace may go (ms since epoch): undefined at once when it is not
   * held; otherwise a slot after the hold, taken by this post and no other.
   */
  async claimSlot(workspace: string): Promise<number | undefined> {
    const row = await queryOne<{ slot: Date }>(
      this.#orm.em.fork(),
      `update slack_rate_limits
          set next_slot = greatest(next_slot, until) + make_interval(secs => ?)
        where workspace = ? and until > now()
        returning next_slot - make_interval(secs => ?) as slot`,
      [SLOT_MS / 1000, workspace, SLOT_MS / 1000],
    );
    return row ? new Date(row.slot).getTime() : undefined;
  }

  /**
   * Holds the workspace's posts until `untilMs` (a longer hold already recorded is kept). The
   * post that met the 429 goes first at `untilMs`; the others' slots follow it.
   */
  async hold(workspace: string, untilMs: number): Promise<void> {
    await run(
      this.#orm.em.fork(),
      `insert into slack_rate_limits (workspace, until, next_slot) values (?, ?, ?)
       on conflict (workspace) do update
         set until = greatest(slack_rate_limits.until, excluded.until),
             next_slot = greatest(slack_rate_limits.next_slot, excluded.next_slot)`,
      [workspace, new Date(untilMs), new Date(untilMs + SLOT_MS)],
    );
  }
}

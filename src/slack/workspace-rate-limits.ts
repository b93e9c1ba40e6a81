import type { Orm } from '../platform/database.ts';
import { queryOne, run } from '../platform/sql.ts';

/**
 * Slack's rate limits count per workspace (per token), so a 429 holds back the posts of that
 * workspace only. The hold lives in the database, shared by every worker process: a post for a
 * held workspace waits as a delayed job until the hold ends, and the other workspaces' posts
 * keep their pace.
 */
export class WorkspaceRateLimits {
  readonly #orm: Orm;

  constructor(orm: Orm) {
    this.#orm = orm;
  }

  /** When the workspace's hold ends (ms since epoch), or undefined when it is not held. */
  async heldUntil(workspace: string, nowMs = Date.now()): Promise<number | undefined> {
    const row = await queryOne<{ until: Date }>(
      this.#orm.em.fork(),
      'select until from slack_rate_limits where workspace = ?',
      [workspace],
    );
    const until = row ? new Date(row.until).getTime() : undefined;
    return until !== undefined && until > nowMs ? until : undefined;
  }

  /** Holds the workspace's posts until `untilMs`; a longer hold already recorded is kept. */
  async hold(workspace: string, untilMs: number): Promise<void> {
    await run(
      this.#orm.em.fork(),
      `insert into slack_rate_limits (workspace, until) values (?, ?)
       on conflict (workspace) do update set until = greatest(slack_rate_limits.until, excluded.until)`,
      [workspace, new Date(untilMs)],
    );
  }
}

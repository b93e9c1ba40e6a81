import { Migration } from '@mikro-orm/migrations';

/**
 * Invitation tokens are derived from the server secret and a nonce kept in the row, no longer
 * carried in clear by the sending job. The tokens still in outbox rows are removed; rows made
 * before get a nonce that yields no matching token, so an invitation not yet delivered when
 * this runs is refused by its job and must be re-sent (a re-send draws a fresh nonce).
 */
export class Migration20261202020000 extends Migration {
  override name = 'Migration20261202020000';

  override up(): void | Promise<void> {
    this.addSql(`alter table "invitations" add column "token_nonce" varchar(32) null;`);
    this.addSql(`update "invitations" set "token_nonce" = 'legacy-' || "id";`);
    this.addSql(`alter table "invitations" alter column "token_nonce" set not null;`);
    this.addSql(`update "outbox" set "payload" = "payload" - 'token' where "payload"->>'token' is not null;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "invitations" drop column "token_nonce";`);
  }
}

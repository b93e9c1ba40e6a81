import { Migration } from '@mikro-orm/migrations';

/**
 * Invitation delivery attempts: how many were made and how many the job gets, so `/team
 * invitations` can say "retrying (attempt 2 of 10): <reason>". The last error is now kept bare;
 * queued invitations recorded before this carried a "retrying: " prefix, which goes.
 */
export class Migration20261125120000 extends Migration {
  override name = 'Migration20261125120000';

  override up(): void | Promise<void> {
    this.addSql(
      `alter table "invitations" add column "delivery_attempts" int not null default 0, add column "delivery_max_attempts" int null;`,
    );
    this.addSql(
      `update "invitations" set "delivery_error" = substr("delivery_error", 11) where "delivery_status" = 'queued' and "delivery_error" like 'retrying: %';`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(
      `update "invitations" set "delivery_error" = 'retrying: ' || "delivery_error" where "delivery_status" = 'queued' and "delivery_error" is not null;`,
    );
    this.addSql(
      `alter table "invitations" drop column "delivery_attempts", drop column "delivery_max_attempts";`,
    );
  }
}

import { Migration } from '@mikro-orm/migrations';

/** Credit requests: a member asks for an amount, the owner or an admin approves or denies, or it expires. */
export class Migration20261202070000 extends Migration {
  override name = 'Migration20261202070000';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "credit_requests" ("id" serial primary key, "team_id" int not null, "member_id" int not null, "amount" bigint not null, "reason" text null, "status" text not null, "decided_by_id" int null, "decided_at" timestamptz null, "transfer_id" bigint null, "slack_messages" jsonb not null default '[]', "expires_at" timestamptz not null, "created_at" timestamptz not null);`,
    );
    this.addSql(
      `create unique index credit_requests_one_open_per_member on credit_requests (member_id) where status = 'open';`,
    );
    this.addSql(`create index "credit_requests_team_id" on "credit_requests" ("team_id", "id");`);
    this.addSql(
      `create index credit_requests_open_expiry on credit_requests (expires_at) where status = 'open';`,
    );

    this.addSql(
      `alter table "credit_requests" add constraint "credit_requests_team_id_foreign" foreign key ("team_id") references "teams" ("id");`,
    );
    this.addSql(
      `alter table "credit_requests" add constraint "credit_requests_member_id_foreign" foreign key ("member_id") references "members" ("id");`,
    );
    this.addSql(
      `alter table "credit_requests" add constraint "credit_requests_decided_by_id_foreign" foreign key ("decided_by_id") references "members" ("id") on delete set null;`,
    );
    this.addSql(
      `alter table "credit_requests" add constraint "credit_requests_amount_positive" check (amount > 0);`,
    );
    this.addSql(
      `alter table "credit_requests" add constraint "credit_requests_status_check" check ("status" in ('open', 'approved', 'denied', 'expired'));`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "credit_requests" cascade;`);
  }
}

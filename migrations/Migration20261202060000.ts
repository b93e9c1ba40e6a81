import { Migration } from '@mikro-orm/migrations';

/**
 * The team's timezone (IANA, default UTC) for its days and months, and the monthly spending limit
 * per member with the month's running spend that the charge transaction guards (docs/ledger.md).
 */
export class Migration20261202060000 extends Migration {
  override name = 'Migration20261202060000';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "spending_limits" ("member_id" int not null, "team_id" int not null, "monthly_limit" bigint not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("member_id"));`,
    );
    this.addSql(`create index "spending_limits_team" on "spending_limits" ("team_id");`);

    this.addSql(
      `create table "member_monthly_spend" ("member_id" int not null, "month" date not null, "spent" bigint not null default '0', "warned_at" timestamptz null, primary key ("member_id", "month"));`,
    );

    this.addSql(`alter table "teams" add "timezone" varchar(64) not null default 'UTC';`);

    this.addSql(
      `alter table "spending_limits" add constraint "spending_limits_member_id_foreign" foreign key ("member_id") references "members" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "spending_limits" add constraint "spending_limits_team_id_foreign" foreign key ("team_id") references "teams" ("id");`,
    );
    this.addSql(
      `alter table "spending_limits" add constraint "spending_limit_positive" check (monthly_limit > 0);`,
    );

    this.addSql(
      `alter table "member_monthly_spend" add constraint "member_monthly_spend_member_id_foreign" foreign key ("member_id") references "members" ("id");`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "spending_limits" cascade;`);
    this.addSql(`drop table if exists "member_monthly_spend" cascade;`);

    this.addSql(`alter table "teams" drop column "timezone";`);
  }
}

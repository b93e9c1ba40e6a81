import { Migration } from '@mikro-orm/migrations';

/** Messages, the per-team price list, and the daily statistics rollup kept beside the log. */
export class Migration20261124143100 extends Migration {
  override name = 'Migration20261124143100';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "message_prices" ("id" serial primary key, "team_id" int not null, "prefix" varchar(15) not null, "price" bigint not null, "created_at" timestamptz not null, "updated_at" timestamptz not null);`,
    );
    this.addSql(
      `alter table "message_prices" add constraint "message_prices_team_prefix" unique ("team_id", "prefix");`,
    );
    this.addSql(
      `alter table "message_prices" add constraint "message_prices_team_id_foreign" foreign key ("team_id") references "teams" ("id");`,
    );
    this.addSql(
      `alter table "message_prices" add constraint "message_prices_prefix_digits" check (prefix ~ '^[0-9]{0,15}$');`,
    );
    this.addSql(
      `alter table "message_prices" add constraint "message_prices_price_positive" check (price > 0);`,
    );

    this.addSql(
      `create table "messages" ("id" bigserial primary key, "team_id" int not null, "member_id" int not null, "recipient" varchar(16) not null, "body" text not null, "sender_id" varchar(16) null, "encoding" text not null, "parts" int not null, "unit_price" bigint not null, "cost" bigint not null, "status" text not null, "provider" varchar(16) not null, "provider_message_id" varchar(100) null, "error" varchar(500) null, "request_key" varchar(200) null, "request_index" int null, "charge_transfer_id" bigint not null, "refund_transfer_id" bigint null, "refunded_at" timestamptz null, "created_at" timestamptz not null, "sent_at" timestamptz null, "finished_at" timestamptz null);`,
    );
    this.addSql(`create index "messages_team" on "messages" ("team_id", "id");`);
    this.addSql(`create index "messages_member" on "messages" ("member_id", "id");`);
    this.addSql(`create index "messages_team_recipient" on "messages" ("team_id", "recipient", "id");`);
    this.addSql(
      `create unique index messages_request_key on messages (member_id, request_key, request_index) where request_key is not null;`,
    );
    this.addSql(
      `create unique index messages_provider_message_id on messages (provider, provider_message_id) where provider_message_id is not null;`,
    );
    this.addSql(
      `alter table "messages" add constraint "messages_team_id_foreign" foreign key ("team_id") references "teams" ("id");`,
    );
    this.addSql(
      `alter table "messages" add constraint "messages_member_id_foreign" foreign key ("member_id") references "members" ("id");`,
    );
    this.addSql(
      `alter table "messages" add constraint "messages_charge_transfer_id_foreign" foreign key ("charge_transfer_id") references "transfers" ("id");`,
    );
    this.addSql(
      `alter table "messages" add constraint "messages_refund_transfer_id_foreign" foreign key ("refund_transfer_id") references "transfers" ("id") on delete set null;`,
    );
    this.addSql(
      `alter table "messages" add constraint "messages_cost_is_parts_times_price" check (cost = parts * unit_price and parts > 0);`,
    );
    this.addSql(
      `alter table "messages" add constraint "messages_encoding_check" check ("encoding" in ('gsm7', 'ucs2'));`,
    );
    this.addSql(
      `alter table "messages" add constraint "messages_status_check" check ("status" in ('queued', 'sent', 'delivered', 'failed'));`,
    );

    this.addSql(
      `create table "message_stats_daily" ("member_id" int not null, "day" date not null, "team_id" int not null, "messages" bigint not null default '0', "parts" bigint not null default '0', "cost" bigint not null default '0', "refunded" bigint not null default '0', "delivered" bigint not null default '0', "failed" bigint not null default '0', primary key ("member_id", "day"));`,
    );
    this.addSql(`create index "message_stats_daily_team_day" on "message_stats_daily" ("team_id", "day");`);
    this.addSql(
      `alter table "message_stats_daily" add constraint "message_stats_daily_member_id_foreign" foreign key ("member_id") references "members" ("id");`,
    );
    this.addSql(
      `alter table "message_stats_daily" add constraint "message_stats_daily_team_id_foreign" foreign key ("team_id") references "teams" ("id");`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "message_stats_daily";`);
    this.addSql(`drop table if exists "messages";`);
    this.addSql(`drop table if exists "message_prices";`);
  }
}

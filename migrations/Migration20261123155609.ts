import { Migration } from '@mikro-orm/migrations';

export class Migration20261123155609 extends Migration {
  override name = 'Migration20261123155609';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "outbox" ("id" bigserial primary key, "job" varchar(64) not null, "payload" jsonb not null, "dedup_key" varchar(200) null, "available_at" timestamptz not null, "dispatched_at" timestamptz null, "attempts" int not null default 0, "created_at" timestamptz not null);`,
    );
    this.addSql(`create index outbox_pending on outbox (id) where dispatched_at is null;`);

    this.addSql(
      `create table "teams" ("id" serial primary key, "name" varchar(100) not null, "currency" varchar(3) not null, "slack_team_id" varchar(32) null, "master_balance" bigint not null default '0', "alerts_channel" varchar(32) null, "low_balance_level" bigint not null default '1000000', "digest_channel" varchar(32) null, "digest_frequency" text null, "digest_time" varchar(5) null, "digest_timezone" varchar(64) null, "created_at" timestamptz not null, "updated_at" timestamptz not null);`,
    );
    this.addSql(`alter table "teams" add constraint "teams_slack_team_id_unique" unique ("slack_team_id");`);
    this.addSql(
      `alter table "teams" add constraint "teams_master_balance_not_negative" check (master_balance >= 0);`,
    );
    this.addSql(
      `alter table "teams" add constraint "teams_digest_frequency_check" check ("digest_frequency" in ('daily', 'weekly'));`,
    );

    this.addSql(
      `create table "members" ("id" serial primary key, "team_id" int not null, "name" varchar(100) not null, "email" varchar(254) null, "role" text not null, "status" text not null, "balance" bigint not null default '0', "credit_limit" bigint not null default '0', "api_key_hash" varchar(64) null, "api_key_prefix" varchar(16) null, "slack_user_id" varchar(32) null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "closed_at" timestamptz null);`,
    );
    this.addSql(
      `alter table "members" add constraint "members_api_key_hash_unique" unique ("api_key_hash");`,
    );
    this.addSql(
      `create unique index members_one_owner_per_team on members (team_id) where role = 'owner' and status <> 'closed';`,
    );
    this.addSql(
      `create unique index members_email_per_team on members (team_id, lower(email)) where status <> 'closed';`,
    );
    this.addSql(
      `create unique index members_slack_user_per_team on members (team_id, slack_user_id) where status <> 'closed';`,
    );
    this.addSql(
      `alter table "members" add constraint "members_balance_within_credit_limit" check (balance >= -credit_limit);`,
    );
    this.addSql(
      `alter table "members" add constraint "members_role_check" check ("role" in ('owner', 'admin', 'user'));`,
    );
    this.addSql(
      `alter table "members" add constraint "members_status_check" check ("status" in ('active', 'inactive', 'invited', 'closed'));`,
    );

    this.addSql(
      `create table "role_change_requests" ("id" serial primary key, "team_id" int not null, "member_id" int not null, "from_role" text not null, "to_role" text not null, "status" text not null, "requested_by_id" int not null, "decided_by_id" int null, "decided_at" timestamptz null, "slack_channel" varchar(32) null, "slack_ts" varchar(32) null, "created_at" timestamptz not null);`,
    );
    this.addSql(
      `alter table "role_change_requests" add constraint "role_change_requests_from_role_check" check ("from_role" in ('owner', 'admin', 'user'));`,
    );
    this.addSql(
      `alter table "role_change_requests" add constraint "role_change_requests_to_role_check" check ("to_role" in ('owner', 'admin', 'user'));`,
    );
    this.addSql(
      `alter table "role_change_requests" add constraint "role_change_requests_status_check" check ("status" in ('pending', 'approved', 'denied'));`,
    );

    this.addSql(
      `create table "auto_recharge_rules" ("member_id" int not null, "threshold" bigint not null, "amount" bigint not null, "daily_cap" bigint null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("member_id"));`,
    );
    this.addSql(
      `alter table "auto_recharge_rules" add constraint "auto_recharge_amount_positive" check (amount > 0 and threshold >= 0);`,
    );
    this.addSql(
      `alter table "auto_recharge_rules" add constraint "auto_recharge_cap_covers_amount" check (daily_cap is null or daily_cap >= amount);`,
    );

    this.addSql(
      `create table "invitations" ("id" serial primary key, "team_id" int not null, "email" varchar(254) null, "slack_user_id" varchar(32) null, "role" text not null, "token_hash" varchar(64) not null, "status" text not null, "expires_at" timestamptz not null, "invited_by_id" int null, "member_id" int not null, "delivery_status" text not null default 'queued', "delivery_error" varchar(500) null, "created_at" timestamptz not null, "decided_at" timestamptz null);`,
    );
    this.addSql(
      `alter table "invitations" add constraint "invitations_token_hash_unique" unique ("token_hash");`,
    );
    this.addSql(
      `create unique index invitations_pending_email on invitations (team_id, lower(email)) where status = 'pending';`,
    );
    this.addSql(
      `alter table "invitations" add constraint "invitations_role_check" check ("role" in ('admin', 'user'));`,
    );
    this.addSql(
      `alter table "invitations" add constraint "invitations_status_check" check ("status" in ('pending', 'accepted', 'revoked', 'expired'));`,
    );
    this.addSql(
      `alter table "invitations" add constraint "invitations_delivery_status_check" check ("delivery_status" in ('queued', 'sent', 'failed'));`,
    );

    this.addSql(
      `create table "audit_events" ("id" bigserial primary key, "team_id" int not null, "actor_kind" text not null, "actor_member_id" int null, "via" text not null, "action" varchar(64) not null, "subject_member_id" int null, "details" jsonb not null, "created_at" timestamptz not null);`,
    );
    this.addSql(`create index "audit_events_team" on "audit_events" ("team_id", "id");`);
    this.addSql(
      `alter table "audit_events" add constraint "audit_events_actor_kind_check" check ("actor_kind" in ('member', 'operator', 'system'));`,
    );
    this.addSql(
      `alter table "audit_events" add constraint "audit_events_via_check" check ("via" in ('slack', 'api', 'cli', 'worker'));`,
    );

    this.addSql(
      `create table "transfers" ("id" bigserial primary key, "team_id" int not null, "kind" text not null, "from_member_id" int null, "to_member_id" int null, "amount" bigint not null, "idempotency_key" varchar(200) not null, "request_hash" varchar(64) not null, "reason" varchar(500) null, "actor_kind" text not null, "actor_member_id" int null, "via" text not null, "master_balance_after" bigint null, "member_balance_after" bigint null, "created_at" timestamptz not null);`,
    );
    this.addSql(`create index "transfers_team" on "transfers" ("team_id", "id");`);
    this.addSql(`create index "transfers_from_member" on "transfers" ("from_member_id", "id");`);
    this.addSql(`create index "transfers_to_member" on "transfers" ("to_member_id", "id");`);
    this.addSql(
      `alter table "transfers" add constraint "transfers_idempotency_key" unique ("team_id", "idempotency_key");`,
    );
    this.addSql(`alter table "transfers" add constraint "transfers_amount_positive" check (amount > 0);`);
    this.addSql(
      `alter table "transfers" add constraint "transfers_kind_check" check ("kind" in ('master_topup', 'credit', 'debit', 'auto_recharge', 'message_charge', 'refund', 'close_out'));`,
    );
    this.addSql(
      `alter table "transfers" add constraint "transfers_actor_kind_check" check ("actor_kind" in ('member', 'operator', 'system'));`,
    );
    this.addSql(
      `alter table "transfers" add constraint "transfers_via_check" check ("via" in ('slack', 'api', 'cli', 'worker'));`,
    );

    this.addSql(
      `alter table "members" add constraint "members_team_id_foreign" foreign key ("team_id") references "teams" ("id");`,
    );

    this.addSql(
      `alter table "role_change_requests" add constraint "role_change_requests_team_id_foreign" foreign key ("team_id") references "teams" ("id");`,
    );
    this.addSql(
      `alter table "role_change_requests" add constraint "role_change_requests_member_id_foreign" foreign key ("member_id") references "members" ("id");`,
    );
    this.addSql(
      `alter table "role_change_requests" add constraint "role_change_requests_requested_by_id_foreign" foreign key ("requested_by_id") references "members" ("id");`,
    );
    this.addSql(
      `alter table "role_change_requests" add constraint "role_change_requests_decided_by_id_foreign" foreign key ("decided_by_id") references "members" ("id") on delete set null;`,
    );

    this.addSql(
      `alter table "auto_recharge_rules" add constraint "auto_recharge_rules_member_id_foreign" foreign key ("member_id") references "members" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "invitations" add constraint "invitations_team_id_foreign" foreign key ("team_id") references "teams" ("id");`,
    );
    this.addSql(
      `alter table "invitations" add constraint "invitations_invited_by_id_foreign" foreign key ("invited_by_id") references "members" ("id") on delete set null;`,
    );
    this.addSql(
      `alter table "invitations" add constraint "invitations_member_id_foreign" foreign key ("member_id") references "members" ("id");`,
    );

    this.addSql(
      `alter table "audit_events" add constraint "audit_events_team_id_foreign" foreign key ("team_id") references "teams" ("id");`,
    );
    this.addSql(
      `alter table "audit_events" add constraint "audit_events_actor_member_id_foreign" foreign key ("actor_member_id") references "members" ("id") on delete set null;`,
    );
    this.addSql(
      `alter table "audit_events" add constraint "audit_events_subject_member_id_foreign" foreign key ("subject_member_id") references "members" ("id") on delete set null;`,
    );

    this.addSql(
      `alter table "transfers" add constraint "transfers_team_id_foreign" foreign key ("team_id") references "teams" ("id");`,
    );
    this.addSql(
      `alter table "transfers" add constraint "transfers_from_member_id_foreign" foreign key ("from_member_id") references "members" ("id") on delete set null;`,
    );
    this.addSql(
      `alter table "transfers" add constraint "transfers_to_member_id_foreign" foreign key ("to_member_id") references "members" ("id") on delete set null;`,
    );
    this.addSql(
      `alter table "transfers" add constraint "transfers_actor_member_id_foreign" foreign key ("actor_member_id") references "members" ("id") on delete set null;`,
    );
  }
}

import { Migration } from '@mikro-orm/migrations';

/**
 * Multi-workspace Slack: installations (tokens only sealed, with their key id), the workspaces
 * an org-wide installation serves, OAuth states (server-side, single use), and per-workspace
 * rate-limit holds.
 */
export class Migration20261202022940 extends Migration {
  override name = 'Migration20261202022940';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "slack_installations" ("id" serial primary key, "install_key" varchar(80) not null, "slack_team_id" varchar(32) null, "team_name" varchar(200) null, "enterprise_id" varchar(32) null, "enterprise_name" varchar(200) null, "enterprise_url" varchar(300) null, "is_enterprise_install" boolean not null default false, "app_id" varchar(32) null, "bot_id" varchar(32) null, "bot_user_id" varchar(32) null, "bot_scopes" text not null, "bot_token_sealed" text null, "bot_token_key_id" varchar(16) null, "bot_refresh_token_sealed" text null, "bot_refresh_token_key_id" varchar(16) null, "bot_token_expires_at" timestamptz null, "installer_user_id" varchar(32) null, "installed_at" timestamptz not null, "updated_at" timestamptz not null, "uninstalled_at" timestamptz null);`,
    );
    this.addSql(
      `alter table "slack_installations" add constraint "slack_installations_install_key_unique" unique ("install_key");`,
    );

    this.addSql(
      `create table "slack_installation_workspaces" ("slack_team_id" varchar(32) not null, "installation_id" int not null, primary key ("slack_team_id"));`,
    );

    this.addSql(
      `create table "slack_oauth_states" ("state_hash" varchar(64) not null, "install_options" jsonb not null, "expires_at" timestamptz not null, primary key ("state_hash"));`,
    );

    this.addSql(
      `create table "slack_rate_limits" ("workspace" varchar(64) not null, "until" timestamptz not null, "next_slot" timestamptz not null, primary key ("workspace"));`,
    );

    this.addSql(
      `alter table "slack_installation_workspaces" add constraint "slack_installation_workspaces_installation_id_foreign" foreign key ("installation_id") references "slack_installations" ("id") on delete cascade;`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(
      `alter table "slack_installation_workspaces" drop constraint "slack_installation_workspaces_installation_id_foreign";`,
    );

    this.addSql(`drop table if exists "slack_installations" cascade;`);
    this.addSql(`drop table if exists "slack_installation_workspaces" cascade;`);
    this.addSql(`drop table if exists "slack_oauth_states" cascade;`);
    this.addSql(`drop table if exists "slack_rate_limits" cascade;`);
  }
}

import { Migration } from '@mikro-orm/migrations';

/** The latest team-wide statistics chart each team uploaded to Slack, which its App Home shows. */
export class Migration20261202090000 extends Migration {
  override name = 'Migration20261202090000';

  override up(): void | Promise<void> {
    this.addSql(
      `create table "team_charts" ("team_id" int not null, "slack_file_id" varchar(40) not null, "title" varchar(200) not null, "from_day" date not null, "to_day" date not null, "uploaded_at" timestamptz not null, primary key ("team_id"));`,
    );
    this.addSql(
      `alter table "team_charts" add constraint "team_charts_team_id_foreign" foreign key ("team_id") references "teams" ("id") on update cascade on delete cascade;`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "team_charts" cascade;`);
  }
}

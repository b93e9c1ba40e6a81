import { Migration } from '@mikro-orm/migrations';

/** Rate-limit counters shared by the web processes when there is no Redis (platform/rate-limits.ts). */
export class Migration20261202030000 extends Migration {
  override name = 'Migration20261202030000';

  override up(): void | Promise<void> {
    this.addSql(
      `create unlogged table "rate_limits" ("key" varchar(255) not null, "points" int not null default 0, "expire" bigint null, constraint "rate_limits_pkey" primary key ("key"));`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "rate_limits" cascade;`);
  }
}

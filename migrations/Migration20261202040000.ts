import { Migration } from '@mikro-orm/migrations';

/**
 * Account identities the compatible APIs need: a username (Textmagic), a public key id
 * (Vonage's api_key) and whether the member's sends are paid from the master balance (Vonage's
 * use_primary_account_balance). Existing members get a username derived from their email or
 * name, made unique with their id where two would collide, and keep paying from their own balance.
 */
export class Migration20261202040000 extends Migration {
  override name = 'Migration20261202040000';

  override up(): void | Promise<void> {
    this.addSql(
      `alter table "members" add column "username" varchar(60) null, add column "key_id" varchar(8) null, add column "shares_master_balance" boolean not null default false;`,
    );
    this.addSql(
      `with base as (
         select id, coalesce(nullif(trim(both '.' from regexp_replace(lower(coalesce(split_part(email, '@', 1), name)), '[^a-z0-9]+', '.', 'g')), ''), 'user') as name
           from members
       ), ranked as (
         select id, name, row_number() over (partition by name order by id) as n from base
       )
       update members m set username = case when r.n = 1 then left(r.name, 50) else left(r.name, 50) || '.' || m.id end
         from ranked r where r.id = m.id;`,
    );
    this.addSql(`update members set key_id = substr(md5(random()::text || id::text), 1, 8);`);
    this.addSql(
      `alter table "members" alter column "username" set not null, alter column "key_id" set not null;`,
    );
    this.addSql(`alter table "members" add constraint "members_key_id_unique" unique ("key_id");`);
    this.addSql(`create unique index members_username on members (lower(username));`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index "members_username";`);
    this.addSql(
      `alter table "members" drop column "username", drop column "key_id", drop column "shares_master_balance";`,
    );
  }
}

import { Migration } from '@mikro-orm/migrations';

/**
 * API-key changes become visible with their commit, not when a notification arrives: the trigger
 * on `members` now bumps a one-row counter in the changing transaction
 * (src/members/key-holder-changes.entity.ts), which every process reads before trusting what it
 * remembers of a key. The NOTIFY it sent before is gone; nothing listens for it any more.
 */
export class Migration20261202110000 extends Migration {
  override name = 'Migration20261202110000';

  override up(): void | Promise<void> {
    this.addSql(`create table "key_holder_changes" (
      "id" smallint not null, "version" bigint not null default '0',
      constraint "key_holder_changes_pkey" primary key ("id"),
      constraint key_holder_changes_one_row check (id = 1));`);
    this.addSql(`create or replace function teamops_key_holder_changed() returns trigger language plpgsql as $$
      begin
        insert into key_holder_changes (id, version) values (1, 1)
              on conflict (id) do update set version = key_holder_changes.version + 1;
        return null;
      end
    $$;`);
  }

  override down(): void | Promise<void> {
    this.addSql(`create or replace function teamops_key_holder_changed() returns trigger language plpgsql as $$
      begin
        perform pg_notify('teamops_key_holders', old.id::text);
        return null;
      end
    $$;`);
    this.addSql('drop table if exists "key_holder_changes";');
  }
}

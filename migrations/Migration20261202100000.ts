import { Migration } from '@mikro-orm/migrations';

/**
 * Tells every process when an API key's holder changes (src/members/api-key-cache.ts): after a
 * change of a column the API's edge reads with the key, or a deletion, NOTIFY on
 * 'teamops_key_holders' with the member's id, delivered when the transaction commits. Balance
 * updates name none of these columns, so the charges' hot path fires nothing.
 */
export class Migration20261202100000 extends Migration {
  override name = 'Migration20261202100000';

  override up(): void | Promise<void> {
    this.addSql(`create function teamops_key_holder_changed() returns trigger language plpgsql as $$
      begin
        perform pg_notify('teamops_key_holders', old.id::text);
        return null;
      end
    $$;`);
    this.addSql(`create trigger members_key_holder_changed
      after update of api_key_hash, team_id, role, status, username, email, key_id on members
      for each row
      when (old.api_key_hash is distinct from new.api_key_hash or old.team_id is distinct from new.team_id
            or old.role is distinct from new.role or old.status is distinct from new.status
            or old.username is distinct from new.username or old.email is distinct from new.email
            or old.key_id is distinct from new.key_id)
      execute function teamops_key_holder_changed();`);
    this.addSql(`create trigger members_key_holder_deleted
      after delete on members for each row execute function teamops_key_holder_changed();`);
  }

  override down(): void | Promise<void> {
    this.addSql('drop trigger if exists members_key_holder_deleted on members;');
    this.addSql('drop trigger if exists members_key_holder_changed on members;');
    this.addSql('drop function if exists teamops_key_holder_changed();');
  }
}

import { Migration } from '@mikro-orm/migrations';

/**
 * The coalescing outbox NOTIFY as a row trigger on MikroORM's own function name, so the
 * OutboxMessage entity can declare it and the schema check compares its body. Replaces the
 * statement trigger of Migration20261124150000, which needed a transition table.
 */
export class Migration20261124160000 extends Migration {
  override name = 'Migration20261124160000';

  override up(): void | Promise<void> {
    this.addSql(`drop trigger if exists "outbox_notify" on "outbox";`);
    this.addSql(`drop function if exists outbox_notify();`);
    this.addSql(
      `create or replace function "outbox_outbox_notify_fn"() returns trigger as $$ begin if not exists (select 1 from (select o.created_at from outbox o where o.dispatched_at is null and o.id < new.id order by o.id desc limit 1) as newest_pending where newest_pending.created_at > now() - interval '2 seconds') then perform pg_notify('outbox', ''); end if; return null; end; $$ language plpgsql;`,
    );
    this.addSql(
      `create trigger "outbox_notify" AFTER INSERT on "outbox" for each ROW execute function "outbox_outbox_notify_fn"();`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop trigger if exists "outbox_notify" on "outbox";`);
    this.addSql(
      `create or replace function "outbox_outbox_notify_fn"() returns trigger as $$ begin perform pg_notify('outbox', ''); return null; end; $$ language plpgsql;`,
    );
    this.addSql(
      `create trigger "outbox_notify" AFTER INSERT on "outbox" for each STATEMENT execute function "outbox_outbox_notify_fn"();`,
    );
  }
}

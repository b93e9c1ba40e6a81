import { Migration } from '@mikro-orm/migrations';

/** Outbox wake-up for the relay, and receipts that make job effects happen once. */
export class Migration20261124090000 extends Migration {
  override name = 'Migration20261124090000';

  override up(): void | Promise<void> {
    // One notification per inserting statement, delivered at commit: relays wake only for rows
    // that exist. Identical notifications in one transaction collapse into one.
    // Declared on the OutboxMessage entity (so the schema diff knows it); named as MikroORM names it.
    this.addSql(
      `create or replace function "outbox_outbox_notify_fn"() returns trigger as $$ begin perform pg_notify('outbox', ''); return null; end; $$ language plpgsql;`,
    );
    this.addSql(
      `create trigger "outbox_notify" AFTER INSERT on "outbox" for each STATEMENT execute function "outbox_outbox_notify_fn"();`,
    );
    this.addSql(
      `create table "job_receipts" ("key" varchar(200) not null, "created_at" timestamptz not null, primary key ("key"));`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`drop table if exists "job_receipts";`);
    this.addSql(`drop trigger if exists outbox_notify on outbox;`);
    this.addSql(`drop function if exists "outbox_outbox_notify_fn"();`);
  }
}

import { Migration } from '@mikro-orm/migrations';

/** The owner's messages are paid from the master balance: two transfer kinds for that. */
export class Migration20261125100000 extends Migration {
  override name = 'Migration20261125100000';

  override up(): void | Promise<void> {
    this.addSql(`alter table "transfers" drop constraint if exists "transfers_kind_check";`);
    this.addSql(
      `alter table "transfers" add constraint "transfers_kind_check" check ("kind" in ('master_topup', 'credit', 'debit', 'auto_recharge', 'message_charge', 'refund', 'close_out', 'master_message_charge', 'master_refund'));`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "transfers" drop constraint if exists "transfers_kind_check";`);
    this.addSql(
      `alter table "transfers" add constraint "transfers_kind_check" check ("kind" in ('master_topup', 'credit', 'debit', 'auto_recharge', 'message_charge', 'refund', 'close_out'));`,
    );
  }
}

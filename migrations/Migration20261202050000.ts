import { Migration } from '@mikro-orm/migrations';

/**
 * Credit limits (Vonage credit transfers): the primary account gets a credit facility of its own
 * (`teams.credit_limit`, set by the operator), the master balance may go down to minus it, and a
 * transfer kind records credit limit moving between the primary account and a member. Both
 * limits are never negative.
 */
export class Migration20261202050000 extends Migration {
  override name = 'Migration20261202050000';

  override up(): void | Promise<void> {
    this.addSql(`alter table "teams" add column "credit_limit" bigint not null default '0';`);
    this.addSql(`alter table "teams" drop constraint if exists "teams_master_balance_not_negative";`);
    this.addSql(
      `alter table "teams" add constraint "teams_master_balance_within_credit_limit" check (master_balance >= -credit_limit);`,
    );
    this.addSql(
      `alter table "teams" add constraint "teams_credit_limit_not_negative" check (credit_limit >= 0);`,
    );
    this.addSql(
      `alter table "members" add constraint "members_credit_limit_not_negative" check (credit_limit >= 0);`,
    );
    this.addSql(`alter table "transfers" drop constraint if exists "transfers_kind_check";`);
    this.addSql(
      `alter table "transfers" add constraint "transfers_kind_check" check ("kind" in ('master_topup', 'credit', 'debit', 'auto_recharge', 'message_charge', 'refund', 'close_out', 'master_message_charge', 'master_refund', 'credit_limit_transfer'));`,
    );
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "transfers" drop constraint if exists "transfers_kind_check";`);
    this.addSql(
      `alter table "transfers" add constraint "transfers_kind_check" check ("kind" in ('master_topup', 'credit', 'debit', 'auto_recharge', 'message_charge', 'refund', 'close_out', 'master_message_charge', 'master_refund'));`,
    );
    this.addSql(`alter table "members" drop constraint if exists "members_credit_limit_not_negative";`);
    this.addSql(`alter table "teams" drop constraint if exists "teams_credit_limit_not_negative";`);
    this.addSql(`alter table "teams" drop constraint if exists "teams_master_balance_within_credit_limit";`);
    this.addSql(`alter table "teams" drop column "credit_limit";`);
    this.addSql(
      `alter table "teams" add constraint "teams_master_balance_not_negative" check (master_balance >= 0);`,
    );
  }
}

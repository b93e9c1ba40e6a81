import { Migration } from '@mikro-orm/migrations';

/**
 * Whether a member has a monthly spending limit, on the member row (`members.spending_limited`),
 * kept by a trigger on spending_limits. The one-statement charge (src/messaging/charging.ts)
 * guards on it: PostgreSQL re-checks an UPDATE's guards on the newest row version after a wait,
 * but a look at spending_limits in the same statement keeps the statement's older snapshot, so a
 * limit set while the charge waited for the member went unseen and the month's spend missed it.
 */
export class Migration20261202120000 extends Migration {
  override name = 'Migration20261202120000';

  override up(): void | Promise<void> {
    this.addSql('alter table "members" add column "spending_limited" boolean not null default false;');
    this.addSql(
      'update members set spending_limited = true where id in (select member_id from spending_limits);',
    );
    this.addSql(`create function teamops_mark_spending_limited() returns trigger language plpgsql as $$
      begin
        if tg_op = 'INSERT' then
          update members set spending_limited = true where id = new.member_id;
        else
          update members set spending_limited = false where id = old.member_id;
        end if;
        return null;
      end
    $$;`);
    this.addSql(`create trigger spending_limits_mark_member
      after insert or delete on spending_limits
      for each row execute function teamops_mark_spending_limited();`);
  }

  override down(): void | Promise<void> {
    this.addSql('drop trigger if exists spending_limits_mark_member on spending_limits;');
    this.addSql('drop function if exists teamops_mark_spending_limited();');
    this.addSql('alter table "members" drop column "spending_limited";');
  }
}

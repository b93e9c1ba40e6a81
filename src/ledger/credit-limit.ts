/**
 * The balance guard, in the one place that defines it: a balance may pay an amount when what is
 * left stays at or above minus its credit limit (0 for a prepaid account, so never below zero).
 * The master balance and every member balance are guarded by this same rule; the check
 * constraints `teams_master_balance_within_credit_limit` and `members_balance_within_credit_limit`
 * back it in PostgreSQL.
 */
export function withinCreditLimit(balance: bigint, amount: bigint, creditLimit: bigint): boolean {
  return balance - amount >= -creditLimit;
}

/** The same guard in SQL, for statements that decide it on the rows they lock. */
export function withinCreditLimitSql(balance: string, amount: string, creditLimit: string): string {
  return `${balance} - ${amount} >= -${creditLimit}`;
}

import type { MoveResult } from '../../ledger/ledger.service.ts';
import type { MonthSpend } from '../../ledger/spending-limits.ts';
import { maskApiKey } from '../../members/api-keys.ts';
import type { MemberView, TeamView } from '../../members/views.ts';
import { microsToDecimal } from '../../shared/money.ts';

/** How the native API shows things: snake_case, money as exact decimal strings, ISO dates. */
export function memberJson(member: MemberView) {
  return {
    id: member.id,
    name: member.name,
    email: member.email,
    role: member.role,
    status: member.status,
    balance: microsToDecimal(member.balance),
    credit_limit: microsToDecimal(member.creditLimit),
    api_key: maskApiKey(member.apiKeyPrefix),
    slack_user_id: member.slackUserId,
    username: member.username,
    key_id: member.keyId,
    shares_master_balance: member.sharesMasterBalance,
    created_at: member.createdAt.toISOString(),
    closed_at: member.closedAt?.toISOString() ?? null,
  };
}

export function teamJson(team: TeamView) {
  return {
    id: team.id,
    name: team.name,
    currency: team.currency,
    master_balance: microsToDecimal(team.masterBalance),
    credit_limit: microsToDecimal(team.creditLimit),
    slack_team_id: team.slackTeamId,
    alerts_channel: team.alertsChannel,
    low_balance_level: microsToDecimal(team.lowBalanceLevel),
    timezone: team.timezone,
    created_at: team.createdAt.toISOString(),
  };
}

export function spendingLimitJson(spend: MonthSpend) {
  return {
    monthly: microsToDecimal(spend.monthlyLimit),
    month: spend.month,
    spent_this_month: microsToDecimal(spend.spent),
    remaining: microsToDecimal(spend.remaining),
  };
}

export function money(micros: bigint | null): string | null {
  return micros === null ? null : microsToDecimal(micros);
}

export function transferJson(result: MoveResult) {
  return {
    transfer_id: result.transferId,
    kind: result.kind,
    amount: money(result.amount),
    currency: result.currency,
    member: memberJson(result.member),
    master_balance: money(result.masterBalance),
    replayed: result.replayed,
  };
}

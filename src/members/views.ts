import type { ITeam } from '../teams/team.entity.ts';
import type { IMember, MemberStatus, Role } from './member.entity.ts';

/** What transports get to see of a member: never the key hash. */
export interface MemberView {
  id: number;
  teamId: number;
  name: string;
  email: string | null;
  role: Role;
  status: MemberStatus;
  balance: bigint;
  /** How far below zero its balance may go (credit lent by the primary account). */
  creditLimit: bigint;
  apiKeyPrefix: string | null;
  slackUserId: string | null;
  username: string;
  /** Public account id for Vonage clients. */
  keyId: string;
  sharesMasterBalance: boolean;
  createdAt: Date;
  closedAt: Date | null;
}

export interface TeamView {
  id: number;
  name: string;
  currency: string;
  slackTeamId: string | null;
  masterBalance: bigint;
  /** The primary account's own credit facility: how far below zero the master balance may go. */
  creditLimit: bigint;
  alertsChannel: string | null;
  lowBalanceLevel: bigint;
  digestChannel: string | null;
  digestFrequency: 'daily' | 'weekly' | null;
  digestTime: string | null;
  digestTimezone: string | null;
  /** IANA zone of the team's days and months. */
  timezone: string;
  createdAt: Date;
}

export function toMemberView(member: IMember): MemberView {
  return {
    id: member.id,
    teamId: member.team.id,
    name: member.name,
    email: member.email ?? null,
    role: member.role,
    status: member.status,
    // A member created in this unit of work still holds the entity default, the number 0.
    balance: BigInt(member.balance),
    creditLimit: BigInt(member.creditLimit),
    apiKeyPrefix: member.apiKeyPrefix ?? null,
    slackUserId: member.slackUserId ?? null,
    username: member.username,
    keyId: member.keyId,
    sharesMasterBalance: member.sharesMasterBalance,
    createdAt: member.createdAt,
    closedAt: member.closedAt ?? null,
  };
}

/** A members row as plain SQL returns it. */
export interface MemberRow {
  id: number;
  team_id: number;
  name: string;
  email: string | null;
  role: Role;
  status: MemberStatus;
  balance: string;
  credit_limit: string;
  api_key_prefix: string | null;
  slack_user_id: string | null;
  username: string;
  key_id: string;
  shares_master_balance: boolean;
  created_at: string | Date;
  closed_at: string | Date | null;
}

export function memberViewFromRow(row: MemberRow): MemberView {
  return {
    id: row.id,
    teamId: row.team_id,
    name: row.name,
    email: row.email,
    role: row.role,
    status: row.status,
    balance: BigInt(row.balance),
    creditLimit: BigInt(row.credit_limit),
    apiKeyPrefix: row.api_key_prefix,
    slackUserId: row.slack_user_id,
    username: row.username,
    keyId: row.key_id,
    sharesMasterBalance: row.shares_master_balance,
    createdAt: new Date(row.created_at),
    closedAt: row.closed_at === null ? null : new Date(row.closed_at),
  };
}

/** A team row as PostgreSQL returns it (bigint columns as text), for reads that skip the ORM. */
export interface TeamRow {
  id: number;
  name: string;
  currency: string;
  slack_team_id: string | null;
  master_balance: string;
  credit_limit: string;
  alerts_channel: string | null;
  low_balance_level: string;
  digest_channel: string | null;
  digest_frequency: 'daily' | 'weekly' | null;
  digest_time: string | null;
  digest_timezone: string | null;
  timezone: string;
  created_at: Date | string;
}

export const TEAM_COLUMNS = [
  't.id, t.name, t.currency, t.slack_team_id, t.master_balance, t.credit_limit, t.alerts_channel',
  't.low_balance_level, t.digest_channel, t.digest_frequency, t.digest_time, t.digest_timezone, t.timezone, t.created_at',
].join(', ');

export function teamViewFromRow(row: TeamRow): TeamView {
  return {
    id: row.id,
    name: row.name,
    currency: row.currency,
    slackTeamId: row.slack_team_id,
    masterBalance: BigInt(row.master_balance),
    creditLimit: BigInt(row.credit_limit),
    alertsChannel: row.alerts_channel,
    lowBalanceLevel: BigInt(row.low_balance_level),
    digestChannel: row.digest_channel,
    digestFrequency: row.digest_frequency,
    digestTime: row.digest_time,
    digestTimezone: row.digest_timezone,
    timezone: row.timezone,
    createdAt: new Date(row.created_at),
  };
}

export function toTeamView(team: ITeam): TeamView {
  return {
    id: team.id,
    name: team.name,
    currency: team.currency,
    slackTeamId: team.slackTeamId ?? null,
    // A team created in this unit of work still holds the entity defaults, which are numbers.
    masterBalance: BigInt(team.masterBalance),
    creditLimit: BigInt(team.creditLimit),
    alertsChannel: team.alertsChannel ?? null,
    lowBalanceLevel: BigInt(team.lowBalanceLevel),
    digestChannel: team.digestChannel ?? null,
    digestFrequency: team.digestFrequency ?? null,
    digestTime: team.digestTime ?? null,
    digestTimezone: team.digestTimezone ?? null,
    // A team created in this unit of work still holds the entity default.
    timezone: team.timezone ?? 'UTC',
    createdAt: team.createdAt,
  };
}

import type { EntityManager } from '@mikro-orm/postgresql';
import { queryAll, queryOne } from '../platform/sql.ts';
import type { DigestFrequency } from './digest.service.ts';

export interface PeriodTotals {
  messages: number;
  parts: number;
  /** What the messages cost after refunds. */
  cost: bigint;
}

export interface MemberActivity extends PeriodTotals {
  memberId: number;
  name: string;
}

export interface DigestReport {
  teamId: number;
  teamName: string;
  currency: string;
  channel: string;
  frequency: DigestFrequency;
  timezone: string;
  /** [start, end): the day or week that just ended at the scheduled time. */
  start: Date;
  end: Date;
  totals: PeriodTotals;
  previous: PeriodTotals;
  topByMessages: MemberActivity[];
  topByCost: MemberActivity[];
  /** Active members below their auto-recharge threshold, or the team's alert level without a rule. */
  lowBalances: { memberId: number; name: string; balance: bigint; level: bigint }[];
}

const TOP = 5;
const PERIOD_MS: Record<DigestFrequency, number> = { daily: 86_400_000, weekly: 7 * 86_400_000 };

/** The digest of the period ending at `end`, or null when the team has no digest set up (any more). */
export async function buildDigest(
  em: EntityManager,
  teamId: number,
  end: Date,
): Promise<DigestReport | null> {
  const team = await queryOne<{
    name: string;
    currency: string;
    digest_channel: string | null;
    digest_frequency: DigestFrequency | null;
    digest_timezone: string;
  }>(
    em,
    `select name, currency, digest_channel, digest_frequency, coalesce(digest_timezone, timezone) as digest_timezone
       from teams where id = ?`,
    [teamId],
  );
  if (!team?.digest_channel || !team.digest_frequency) return null;
  const length = PERIOD_MS[team.digest_frequency];
  const start = new Date(end.getTime() - length);
  const previousStart = new Date(start.getTime() - length);

  const activity = await memberActivity(em, teamId, start, end);
  const previous = await memberActivity(em, teamId, previousStart, start);
  const lowBalances = await queryAll<{ id: number; name: string; balance: string; level: string }>(
    em,
    `select m.id, m.name, m.balance, coalesce(r.threshold, t.low_balance_level) as level
       from members m
       join teams t on t.id = m.team_id
       left join auto_recharge_rules r on r.member_id = m.id
      where m.team_id = ? and m.status = 'active' and m.role <> 'owner'
        and m.balance < coalesce(r.threshold, t.low_balance_level)
      order by m.balance, m.id
      limit 20`,
    [teamId],
  );

  return {
    teamId,
    teamName: team.name,
    currency: team.currency,
    channel: team.digest_channel,
    frequency: team.digest_frequency,
    timezone: team.digest_timezone,
    start,
    end,
    totals: sum(activity),
    previous: sum(previous),
    topByMessages: [...activity]
      .sort((a, b) => b.messages - a.messages || a.memberId - b.memberId)
      .slice(0, TOP),
    topByCost: [...activity]
      .filter((member) => member.cost > 0n)
      .sort((a, b) => (b.cost > a.cost ? 1 : b.cost < a.cost ? -1 : a.memberId - b.memberId))
      .slice(0, TOP),
    lowBalances: lowBalances.map((row) => ({
      memberId: row.id,
      name: row.name,
      balance: BigInt(row.balance),
      level: BigInt(row.level),
    })),
  };
}

async function memberActivity(
  em: EntityManager,
  teamId: number,
  from: Date,
  to: Date,
): Promise<MemberActivity[]> {
  const rows = await queryAll<{
    member_id: number;
    name: string;
    messages: string;
    parts: string;
    cost: string;
  }>(
    em,
    `select m.member_id, mem.name, count(*) as messages, sum(m.parts) as parts,
            sum(case when m.refunded_at is null then m.cost else 0 end) as cost
       from messages m join members mem on mem.id = m.member_id
      where m.team_id = ? and m.created_at >= ? and m.created_at < ?
      group by m.member_id, mem.name`,
    [teamId, from, to],
  );
  return rows.map((row) => ({
    memberId: row.member_id,
    name: row.name,
    messages: Number(row.messages),
    parts: Number(row.parts),
    cost: BigInt(row.cost),
  }));
}

function sum(members: MemberActivity[]): PeriodTotals {
  return members.reduce(
    (total, member) => ({
      messages: total.messages + member.messages,
      parts: total.parts + member.parts,
      cost: total.cost + member.cost,
    }),
    { messages: 0, parts: 0, cost: 0n },
  );
}

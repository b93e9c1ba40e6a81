import type { EntityManager } from '@mikro-orm/postgresql';
import { enqueueJob } from '../outbox/outbox.ts';
import { queryAll, queryOne, run } from '../platform/sql.ts';
import { SpendingLimitError } from '../shared/errors.ts';
import { formatMoney, type Micros } from '../shared/money.ts';
// Upward, like the low-balance alert: the outbox row carries the finished Slack message, so a
// retried post is the same post; the presenter is a pure function of the warning's facts.
import { spendingLimitWarning } from '../slack/presenters/alerts.ts';
import { lockTeamAndMembers } from './lock-order.ts';

/**
 * Monthly spending limits in the ledger: the guard the charge transaction runs, the room a refund
 * gives back, and the month's spend shown to people. A member's spend of a month is kept in one
 * `member_monthly_spend` row (charges minus refunds, by the team's timezone at the time of each
 * posting), only for members that have a limit; setting a limit (or changing the team's
 * timezone) recounts the current month from the transfers.
 *
 * Lock order (docs/ledger.md): the spend row is something the member owns (level 4), so it is
 * written only while the member row is held — which also serializes every writer of the row, so
 * the guard's figure cannot move between reading it and the charge.
 */

/** The SQL for "the first day of the current month in the team's timezone" of `teams t`. */
const MONTH_SQL = `date_trunc('month', now() at time zone t.timezone)::date`;
const CHARGE_KINDS_SQL = `('message_charge', 'master_message_charge')`;
const REFUND_KINDS_SQL = `('refund', 'master_refund')`;
/** The warning goes out once per month, when the spend reaches this share of the limit. */
const WARN_PERCENT = 80n;

export interface SpendingPayer {
  teamId: number;
  memberId: number;
  /** The charge moves the master balance, so the posting locks the team row before the member. */
  masterPays: boolean;
}

interface LimitState {
  month: string;
  currency: string;
  alerts_channel: string | null;
  member_name: string;
  slack_user_id: string | null;
}

type ChargeOutcome = { ok: true; replayed: boolean } | { ok: false; error: unknown };

/**
 * Runs `charge` for the requests (by index into `amounts`) that fit in the payer's monthly
 * spending limit, in order, and refuses the others with a SpendingLimitError before anything is
 * charged; then adds what was actually charged to the month's spend with an update guarded by
 * the limit, in the same transaction. Without a limit, `charge` gets every request. A request
 * refused by the limit that `alreadyCharged` recognises (a retry with a used idempotency key) is
 * let through, so its replay answers it and charges nothing.
 */
export async function chargeWithinSpendingLimit<C extends ChargeOutcome>(
  tx: EntityManager,
  payer: SpendingPayer,
  amounts: readonly Micros[],
  charge: (indices: readonly number[]) => Promise<C[]>,
  alreadyCharged: (indices: readonly number[]) => Promise<ReadonlySet<number>>,
): Promise<(C | { ok: false; error: SpendingLimitError })[]> {
  const all = amounts.map((_, i) => i);
  // The rows the posting will lock, taken now and in its order, so the spend row comes after them
  // — and first: whether there is a limit is read under the lock, by a later statement, so a
  // limit set (and the month recounted) before this got the member cannot miss this charge.
  await lockTeamAndMembers(tx, payer.masterPays ? payer.teamId : null, [payer.memberId]);
  const state = await queryOne<Omit<LimitState, 'month'>>(
    tx,
    `select t.currency, t.alerts_channel, m.name as member_name, m.slack_user_id
       from spending_limits l join teams t on t.id = l.team_id join members m on m.id = l.member_id
      where l.member_id = ?`,
    [payer.memberId],
  );
  if (!state) return charge(all);
  // The month and the limit are read under the lock: a timezone change or a new limit that
  // committed meanwhile is seen.
  const spend = await queryOne<{
    month: string;
    spent: string;
    warned: boolean;
    monthly_limit: string | null;
  }>(
    tx,
    `insert into member_monthly_spend as s (member_id, month, spent)
     select ?, ${MONTH_SQL}, 0 from teams t where t.id = ?
     on conflict (member_id, month) do update set spent = s.spent
     returning s.month::text as month, s.spent, s.warned_at is not null as warned,
               (select monthly_limit from spending_limits where member_id = s.member_id) as monthly_limit`,
    [payer.memberId, payer.teamId],
  );
  // Removed while this waited for the member: no limit.
  if (spend?.monthly_limit == null) return charge(all);
  const limit = BigInt(spend.monthly_limit);
  const before = BigInt(spend.spent);
  const month = spend.month;

  let planned = before;
  const fits: number[] = [];
  const over: number[] = [];
  for (const i of all) {
    if (planned + amounts[i]! <= limit) {
      planned += amounts[i]!;
      fits.push(i);
    } else over.push(i);
  }
  const retries = over.length === 0 ? new Set<number>() : await alreadyCharged(over);
  const allowed = all.filter((i) => fits.includes(i) || retries.has(i));
  const outcomes = allowed.length === 0 ? [] : await charge(allowed);

  const answers: (C | { ok: false; error: SpendingLimitError })[] = [];
  let charged = 0n;
  allowed.forEach((i, k) => {
    const outcome = outcomes[k]!;
    if (outcome.ok && !outcome.replayed) charged += amounts[i]!;
    answers[i] = outcome;
  });
  if (charged > 0n) await addSpend(tx, payer, { ...state, month }, limit, before, charged, spend.warned);
  const left = limit - before - charged;
  for (const i of over) {
    if (answers[i]) continue;
    const money = (micros: Micros) => formatMoney(micros, state.currency);
    answers[i] = {
      ok: false,
      error: new SpendingLimitError(
        `This send costs ${money(amounts[i]!)}, more than is left of the monthly spending limit of ${money(limit)}: ${money(left > 0n ? left : 0n)} left this month`,
        { monthlyLimit: limit, remaining: left > 0n ? left : 0n },
      ),
    };
  }
  return answers;
}

/**
 * The guarded update: the month's spend grows by what was charged only while it stays within the
 * limit (the member row is held, so it does). Reaching 80% for the first time this month marks the
 * row and enqueues the warning for the alerts channel in the same transaction.
 */
async function addSpend(
  tx: EntityManager,
  { teamId, memberId }: SpendingPayer,
  state: LimitState,
  limit: Micros,
  before: Micros,
  charged: Micros,
  warned: boolean,
): Promise<void> {
  const after = before + charged;
  const warn = !warned && after * 100n >= limit * WARN_PERCENT;
  const updated = await run(
    tx,
    `update member_monthly_spend s
        set spent = s.spent + ?::bigint, warned_at = case when ? then now() else s.warned_at end
      where s.member_id = ? and s.month = ?::date
        and s.spent + ?::bigint <= (select monthly_limit from spending_limits where member_id = s.member_id)`,
    [charged.toString(), warn, memberId, state.month, charged.toString()],
  );
  // Cannot happen while the member row is held; if it ever does, nothing of this charge commits.
  if (updated !== 1) throw new Error(`the spending limit of member ${memberId} would be exceeded`);
  if (!warn || !state.alerts_channel) return;
  await enqueueJob(
    tx,
    'slack.post',
    {
      teamId,
      ...spendingLimitWarning(state.alerts_channel, {
        memberId,
        memberName: state.member_name,
        slackUserId: state.slack_user_id,
        currency: state.currency,
        month: state.month.slice(0, 7),
        monthlyLimit: limit,
        spent: after,
      }),
    },
    { dedupKey: `spending-limit-warning:${memberId}:${state.month.slice(0, 7)}` },
  );
}

/**
 * Refunds give room back: the month of the refund (team's timezone) spends that much less. Called
 * by the refund path with the senders' rows held; members without a limit are left alone.
 */
export async function giveBackSpend(
  tx: EntityManager,
  refunds: readonly { memberId: number; amount: Micros }[],
): Promise<void> {
  const perMember = new Map<number, Micros>();
  for (const r of refunds) perMember.set(r.memberId, (perMember.get(r.memberId) ?? 0n) + r.amount);
  if (perMember.size === 0) return;
  await run(
    tx,
    `insert into member_monthly_spend as s (member_id, month, spent)
     select r.member_id, ${MONTH_SQL}, -r.amount
       from jsonb_to_recordset(?::jsonb) as r(member_id int, amount bigint)
       join spending_limits l on l.member_id = r.member_id
       join teams t on t.id = l.team_id
      order by r.member_id
     on conflict (member_id, month) do update set spent = s.spent + excluded.spent`,
    [
      JSON.stringify(
        [...perMember].map(([memberId, amount]) => ({ member_id: memberId, amount: amount.toString() })),
      ),
    ],
  );
}

/**
 * Recounts the current month's spend of the members' limits from the transfers (charges minus
 * refunds since the month began in the team's timezone): when a limit is set, the spend before it
 * counts; when the timezone changes, the month is the new zone's. The caller holds the members.
 */
export async function recountMonthSpend(tx: EntityManager, memberIds: readonly number[]): Promise<void> {
  if (memberIds.length === 0) return;
  await run(
    tx,
    `insert into member_monthly_spend as s (member_id, month, spent)
     select l.member_id, ${MONTH_SQL},
            coalesce((select sum(case when tr.kind in ${CHARGE_KINDS_SQL} then tr.amount else -tr.amount end)
                        from transfers tr
                       where tr.team_id = l.team_id
                         and tr.created_at >= (date_trunc('month', now() at time zone t.timezone) at time zone t.timezone)
                         and ((tr.kind in ${CHARGE_KINDS_SQL} and tr.from_member_id = l.member_id)
                           or (tr.kind in ${REFUND_KINDS_SQL} and tr.to_member_id = l.member_id))), 0)
       from spending_limits l join teams t on t.id = l.team_id
      where l.member_id = any(array(select jsonb_array_elements_text(?::jsonb)::int))
      order by l.member_id
     on conflict (member_id, month) do update set spent = excluded.spent`,
    [JSON.stringify([...new Set(memberIds)])],
  );
}

export interface MonthSpend {
  monthlyLimit: Micros;
  /** YYYY-MM in the team's timezone. */
  month: string;
  spent: Micros;
  /** What may still be spent this month (never below zero). */
  remaining: Micros;
}

/** The limits of these members with this month's spend; members without a limit are absent. */
export async function monthSpendOf(
  em: EntityManager,
  memberIds: readonly number[],
  teamId?: number,
): Promise<Map<number, MonthSpend>> {
  const found = new Map<number, MonthSpend>();
  if (memberIds.length === 0) return found;
  const rows = await queryAll<{
    member_id: number;
    monthly_limit: string;
    month: string;
    spent: string | null;
  }>(
    em,
    `select l.member_id, l.monthly_limit, ${MONTH_SQL}::text as month, s.spent
       from spending_limits l join teams t on t.id = l.team_id
       left join member_monthly_spend s on s.member_id = l.member_id and s.month = ${MONTH_SQL}
      where l.member_id = any(array(select jsonb_array_elements_text(?::jsonb)::int))
        ${teamId === undefined ? '' : 'and l.team_id = ?'}`,
    [JSON.stringify([...new Set(memberIds)]), ...(teamId === undefined ? [] : [teamId])],
  );
  for (const row of rows) {
    const monthlyLimit = BigInt(row.monthly_limit);
    const spent = BigInt(row.spent ?? 0);
    const left = monthlyLimit - spent;
    found.set(row.member_id, {
      monthlyLimit,
      month: row.month.slice(0, 7),
      spent,
      remaining: left > 0n ? left : 0n,
    });
  }
  return found;
}

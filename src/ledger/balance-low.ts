import type { EntityManager } from '@mikro-orm/postgresql';
import type { JobPayload } from '../jobs/jobs.ts';
import { claimJobReceipt } from '../jobs/receipts.ts';
import type { Logger } from '../logger.ts';
import { enqueueJob } from '../outbox/outbox.ts';
import type { Orm } from '../platform/database.ts';
import { queryOne } from '../platform/sql.ts';
import { transact } from '../platform/transactions.ts';
import { systemParty } from '../shared/actor.ts';
import { InsufficientFundsError } from '../shared/errors.ts';
// upward: the outbox row carries the finished Slack message, so a retried post is the same post;
// the presenter is a pure function of the alert's facts.
import { lowBalanceAlert, rechargeNote, rechargeUnpaidMessage } from '../slack/presenters/alerts.ts';
import { type AlertSubject, rechargeUnpaidEmail } from './alert-texts.ts';
import { applyPosting } from './postings.ts';

/**
 * What happens after a posting takes a member below its level (the ledger asks for the
 * `member.balance_low` job, once per crossing): a member with an auto-recharge rule is
 * recharged from the master within its daily cap; a member without one, or whose recharge
 * could not be paid, gets one low-balance alert. Everything a run does — the recharge, the
 * messages it asks for and its receipt — commits in one transaction, so a job delivered twice
 * acts once.
 */

export type BalanceLowOutcome =
  | 'already handled'
  | 'member gone'
  | 'recovered'
  | 'recharged'
  | 'cap reached'
  | 'master cannot pay'
  | 'alerted';

interface MemberState {
  id: number;
  team_id: number;
  name: string;
  status: string;
  balance: string;
  slack_user_id: string | null;
  team_name: string;
  currency: string;
  master_balance: string;
  alerts_channel: string | null;
  low_balance_level: string;
  threshold: string | null;
  amount: string | null;
  daily_cap: string | null;
}

export async function handleBalanceLow(
  orm: Orm,
  logger: Logger,
  payload: JobPayload<'member.balance_low'>,
  jobId: string,
): Promise<BalanceLowOutcome> {
  const outcome = await transact(orm.em.fork(), async (tx) => {
    if (!(await claimJobReceipt(tx, `member.balance_low:${jobId}`))) return 'already handled' as const;
    // Locking the member serializes every run for it, so two crossings cannot both read
    // "nothing recharged today" and overshoot the cap. The team row is locked first, in the
    // ledger's lock order (team, then members, NO KEY UPDATE: docs/ledger.md), so this cannot
    // deadlock with postings or with charges.
    const state = await queryOne<MemberState>(
      tx,
      `select m.id, m.team_id, m.name, m.status, m.balance, m.slack_user_id,
              t.name as team_name, t.currency, t.master_balance, t.alerts_channel, t.low_balance_level,
              r.threshold, r.amount, r.daily_cap
         from teams t
         join members m on m.team_id = t.id
         left join auto_recharge_rules r on r.member_id = m.id
        where m.id = ? and t.id = ?
          for no key update of t, m`,
      [payload.memberId, payload.teamId],
    );
    if (!state || (state.status !== 'active' && state.status !== 'inactive')) return 'member gone' as const;
    const subject = subjectOf(state);
    if (state.threshold === null) {
      const level = BigInt(state.low_balance_level);
      // A credit landed before this job ran: the crossing is over, nobody needs telling.
      if (subject.balance >= level) return 'recovered' as const;
      await alert(tx, state, subject, level, 'no_rule', jobId);
      return 'alerted' as const;
    }
    const threshold = BigInt(state.threshold);
    if (subject.balance >= threshold) return 'recovered' as const;
    return recharge(tx, state, subject, jobId);
  });
  logger.info({ memberId: payload.memberId, transferId: payload.transferId, outcome }, 'balance-low handled');
  return outcome;
}

async function recharge(
  tx: EntityManager,
  state: MemberState,
  subject: AlertSubject,
  jobId: string,
): Promise<BalanceLowOutcome> {
  const amount = BigInt(state.amount!);
  const threshold = BigInt(state.threshold!);
  const dailyCap = state.daily_cap === null ? null : BigInt(state.daily_cap);
  // The cap counts per UTC calendar day.
  const today = await queryOne<{ total: string | null }>(
    tx,
    `select sum(amount) as total from transfers
      where to_member_id = ? and kind = 'auto_recharge'
        and created_at >= date_trunc('day', now() at time zone 'UTC') at time zone 'UTC'`,
    [state.id],
  );
  const rechargedToday = BigInt(today?.total ?? 0);
  if (dailyCap !== null && rechargedToday + amount > dailyCap) {
    await alert(tx, state, subject, threshold, 'cap_reached', jobId);
    return 'cap reached';
  }
  try {
    const posted = await applyPosting(tx, {
      teamId: state.team_id,
      kind: 'auto_recharge',
      memberId: state.id,
      amount,
      idempotencyKey: `auto-recharge:${jobId}`.slice(0, 200),
      reason: 'Auto-recharge: balance below threshold',
      actor: systemParty('worker'),
    });
    const after = { ...subject, balance: posted.memberBalance ?? subject.balance + amount };
    if (state.alerts_channel) {
      await enqueueJob(
        tx,
        'slack.post',
        {
          teamId: state.team_id,
          ...rechargeNote(state.alerts_channel, after, {
            amount,
            masterBalance: posted.masterBalance ?? 0n,
            rechargedToday: rechargedToday + amount,
            dailyCap,
          }),
        },
        { dedupKey: `recharge-note:${jobId}` },
      );
    }
    return 'recharged';
  } catch (error) {
    if (!(error instanceof InsufficientFundsError)) throw error;
    // The guarded update refused: no balance changed. Tell the owner and the alerts channel.
    const master = BigInt(state.master_balance);
    const owner = await queryOne<{ email: string | null; slack_user_id: string | null }>(
      tx,
      `select email, slack_user_id from members where team_id = ? and role = 'owner' and status <> 'closed'`,
      [state.team_id],
    );
    if (owner?.slack_user_id) {
      await enqueueJob(
        tx,
        'slack.post',
        { teamId: state.team_id, ...rechargeUnpaidMessage(owner.slack_user_id, subject, amount, master) },
        {
          dedupKey: `recharge-unpaid-owner:${jobId}`,
        },
      );
    } else if (owner?.email) {
      await enqueueJob(tx, 'email.send', rechargeUnpaidEmail(owner.email, subject, amount, master), {
        dedupKey: `recharge-unpaid-owner:${jobId}`,
      });
    }
    if (state.alerts_channel) {
      await enqueueJob(
        tx,
        'slack.post',
        { teamId: state.team_id, ...rechargeUnpaidMessage(state.alerts_channel, subject, amount, master) },
        {
          dedupKey: `recharge-unpaid-channel:${jobId}`,
        },
      );
    }
    return 'master cannot pay';
  }
}

async function alert(
  tx: EntityManager,
  state: MemberState,
  subject: AlertSubject,
  level: bigint,
  why: 'no_rule' | 'cap_reached',
  jobId: string,
): Promise<void> {
  if (!state.alerts_channel) return;
  const alertMessage = lowBalanceAlert(state.alerts_channel, subject, level, why);
  await enqueueJob(
    tx,
    'slack.post',
    { teamId: state.team_id, ...alertMessage },
    {
      dedupKey: `low-balance:${jobId}`,
    },
  );
}

function subjectOf(state: MemberState): AlertSubject {
  return {
    memberId: state.id,
    memberName: state.name,
    slackUserId: state.slack_user_id,
    balance: BigInt(state.balance),
    currency: state.currency,
    teamName: state.team_name,
  };
}

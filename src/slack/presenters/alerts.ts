import type { KnownBlock } from '@slack/types';
import type { SlackMessage } from '../../jobs/jobs.ts';
import { type AlertSubject, rechargeUnpaidText } from '../../ledger/alert-texts.ts';
import { formatMoney } from '../../shared/money.ts';
import { ACTIONS } from '../ids.ts';
import { actions, button, context, escapeText, section } from './blocks.ts';

function who(subject: AlertSubject): string {
  return subject.slackUserId
    ? `${escapeText(subject.memberName)} (<@${subject.slackUserId}>)`
    : escapeText(subject.memberName);
}

/** "Top up" opens the credit modal for the member (the Slack listener for ACTIONS.topUp). */
function topUpButton(subject: AlertSubject) {
  return actions(`low_balance_${subject.memberId}`, [
    button('Top up', ACTIONS.topUp, String(subject.memberId), 'primary'),
  ]);
}

export function lowBalanceAlert(
  channel: string,
  subject: AlertSubject,
  level: bigint,
  why: 'no_rule' | 'recharge_failed' | 'cap_reached',
): SlackMessage {
  const money = (micros: bigint) => formatMoney(micros, subject.currency);
  const text = `Low balance: ${subject.memberName} has ${money(subject.balance)}, below ${money(level)}.`;
  const reason = {
    no_rule: 'It has no auto-recharge rule.',
    recharge_failed: 'Its auto-recharge could not be paid from the master balance.',
    cap_reached: 'Its auto-recharge reached the daily cap, so it was not recharged again today.',
  }[why];
  const blocks: KnownBlock[] = [
    section(
      `:warning: *Low balance:* ${who(subject)} has *${money(subject.balance)}*, below ${money(level)}.`,
    ),
    context(reason),
    topUpButton(subject),
  ];
  return { channel, text, blocks };
}

export function rechargeNote(
  channel: string,
  subject: AlertSubject,
  recharge: { amount: bigint; masterBalance: bigint; rechargedToday: bigint; dailyCap: bigint | null },
): SlackMessage {
  const money = (micros: bigint) => formatMoney(micros, subject.currency);
  const text = `Auto-recharge: ${money(recharge.amount)} moved to ${subject.memberName}; balance now ${money(subject.balance)}.`;
  const today =
    recharge.dailyCap === null
      ? `Recharged today: ${money(recharge.rechargedToday)}`
      : `Recharged today: ${money(recharge.rechargedToday)} of the ${money(recharge.dailyCap)} daily cap`;
  return {
    channel,
    text,
    blocks: [
      section(
        `:arrows_counterclockwise: *Auto-recharge:* ${money(recharge.amount)} moved from the master balance to ${who(subject)}; its balance is now *${money(subject.balance)}*.`,
      ),
      context(`Master balance: ${money(recharge.masterBalance)}`, today),
    ],
  };
}

/** To the alerts channel and to the owner: the master could not pay a recharge. */
export function rechargeUnpaidMessage(
  channel: string,
  subject: AlertSubject,
  amount: bigint,
  masterBalance: bigint,
): SlackMessage {
  const money = (micros: bigint) => formatMoney(micros, subject.currency);
  return {
    channel,
    text: rechargeUnpaidText(subject, amount, masterBalance),
    blocks: [
      section(
        `:x: *Auto-recharge failed:* ${money(amount)} for ${who(subject)} could not be paid, because the master balance is *${money(masterBalance)}*. Nothing was moved.`,
      ),
      context('Top up the master balance, then use "Top up" to credit the member.'),
      topUpButton(subject),
    ],
  };
}

/** To the alerts channel, once per month: a member has used 80% of its monthly spending limit. */
export function spendingLimitWarning(
  channel: string,
  subject: {
    memberId: number;
    memberName: string;
    slackUserId: string | null;
    currency: string;
    /** YYYY-MM in the team's timezone. */
    month: string;
    monthlyLimit: bigint;
    spent: bigint;
  },
): SlackMessage {
  const money = (micros: bigint) => formatMoney(micros, subject.currency);
  const left = subject.monthlyLimit > subject.spent ? subject.monthlyLimit - subject.spent : 0n;
  const percent = (subject.spent * 100n) / subject.monthlyLimit;
  const name = subject.slackUserId
    ? `${escapeText(subject.memberName)} (<@${subject.slackUserId}>)`
    : escapeText(subject.memberName);
  return {
    channel,
    text: `Spending limit: ${subject.memberName} has spent ${money(subject.spent)} of its ${money(subject.monthlyLimit)} monthly limit (${percent}%); ${money(left)} left in ${subject.month}.`,
    blocks: [
      section(
        `:chart_with_upwards_trend: *Spending limit:* ${name} has spent *${money(subject.spent)}* of its ${money(subject.monthlyLimit)} monthly limit (${percent}%).`,
      ),
      context(
        `${money(left)} left in ${subject.month}; sends beyond the limit are refused until next month. \`/team limit\` changes it.`,
      ),
    ],
  };
}

import type { Email } from '../jobs/jobs.ts';
import { formatMoney } from '../shared/money.ts';

/** The member and team facts an alert needs, whichever way it is sent. */
export interface AlertSubject {
  memberId: number;
  memberName: string;
  slackUserId: string | null;
  balance: bigint;
  currency: string;
  teamName: string;
}

/** The sentence the owner reads, in Slack and by email, when the master could not pay a recharge. */
export function rechargeUnpaidText(subject: AlertSubject, amount: bigint, masterBalance: bigint): string {
  const money = (micros: bigint) => formatMoney(micros, subject.currency);
  return `Auto-recharge of ${money(amount)} for ${subject.memberName} in ${subject.teamName} failed: the master balance is ${money(masterBalance)}. Nothing was moved; top up the master balance.`;
}

export function rechargeUnpaidEmail(
  to: string,
  subject: AlertSubject,
  amount: bigint,
  masterBalance: bigint,
): Email {
  return {
    to,
    subject: `Auto-recharge failed for ${subject.memberName} (${subject.teamName})`,
    text: rechargeUnpaidText(subject, amount, masterBalance),
  };
}

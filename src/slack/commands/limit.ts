import { describeRef } from '../../members/lookups.ts';
import { parseAmountWord, parseMemberRef, quote, UsageError } from '../parse/references.ts';
import { spendingLimitOffText, spendingLimitText } from '../presenters/replies.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

export const limit: SubcommandSpec<'limit'> = {
  usage: '/team limit <member> <amount> monthly | /team limit <member> off',
  summary: "cap a member's spending per calendar month (team's timezone)",
  shownTo: MANAGERS,
  parse(words) {
    const member = parseMemberRef(words.take('The member'));
    const first = words.take('The monthly amount (or "off")');
    if (first.toLowerCase() === 'off') {
      words.end();
      return { name: 'limit', member, limit: 'off' };
    }
    const amount = parseAmountWord(first, 'amount');
    const period = words.take('The period ("monthly")');
    if (period.toLowerCase() !== 'monthly')
      throw new UsageError(`Spending limits are monthly: write ${quote('monthly')}, not ${quote(period)}.`);
    words.end();
    return { name: 'limit', member, limit: { amount } };
  },
  handle: async (command, { deps, caller }) => {
    const { spendingLimits } = deps.services;
    if (command.limit === 'off') {
      const { removed } = await spendingLimits.off(caller.actor, command.member);
      return { text: spendingLimitOffText(removed, describeRef(command.member)) };
    }
    const set = await spendingLimits.set(caller.actor, {
      member: command.member,
      amount: command.limit.amount,
      period: 'monthly',
    });
    return { text: spendingLimitText(set) };
  },
  changesTeamPage: true,
};

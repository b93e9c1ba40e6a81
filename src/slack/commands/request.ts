import { formatMoney } from '../../shared/money.ts';
import { parseAmountWord } from '../parse/references.ts';
import type { SubcommandSpec } from './spec.ts';

export const request: SubcommandSpec<'request'> = {
  usage: '/team request <amount> [reason]',
  summary: 'ask the owner and admins for credit; they approve or deny it with a button',
  // The owner's money is the master balance: it has no one to ask.
  shownTo: ['admin', 'user'],
  parse(words) {
    const amount = parseAmountWord(words.take('The amount'), 'amount');
    const reason = words.rest().join(' ');
    return reason === '' ? { name: 'request', amount } : { name: 'request', amount, reason };
  },
  handle: async (command, { deps, caller }) => {
    const created = await deps.services.creditRequests.create(caller.actor, {
      amount: command.amount,
      reason: command.reason ?? null,
    });
    const amount = formatMoney(created.amount, created.currency);
    return {
      text: `Credit request #${created.id} for ${amount} is sent to the owner and admins. You will get a direct message when it is decided; it expires in 7 days.`,
    };
  },
  changesTeamPage: false,
};

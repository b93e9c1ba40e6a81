import { moveMoney, parseMoneyMove } from './move-money.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

export const credit: SubcommandSpec<'credit'> = {
  usage: '/team credit <member> <amount> [reason]',
  summary: 'move money from the master balance to a member',
  shownTo: MANAGERS,
  parse: parseMoneyMove('credit'),
  handle: moveMoney,
  changesTeamPage: true,
};

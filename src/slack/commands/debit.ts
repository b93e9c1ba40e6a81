import { moveMoney, parseMoneyMove } from './move-money.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

export const debit: SubcommandSpec<'debit'> = {
  usage: '/team debit <member> <amount> [reason]',
  summary: 'move money from a member back to the master balance',
  shownTo: MANAGERS,
  parse: parseMoneyMove('debit'),
  handle: moveMoney,
  changesTeamPage: true,
};

import { memberOnly } from '../parse/words.ts';
import { setMemberStatus } from './member-status.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

export const disable: SubcommandSpec<'disable'> = {
  usage: '/team disable <member>',
  summary: "refuse the member's API key; nothing is charged",
  shownTo: MANAGERS,
  parse: memberOnly('disable'),
  handle: setMemberStatus,
  changesTeamPage: true,
};

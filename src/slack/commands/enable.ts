import { memberOnly } from '../parse/words.ts';
import { setMemberStatus } from './member-status.ts';
import { MANAGERS, type SubcommandSpec } from './spec.ts';

export const enable: SubcommandSpec<'enable'> = {
  usage: '/team enable <member>',
  summary: "accept the member's API key again",
  shownTo: MANAGERS,
  parse: memberOnly('enable'),
  handle: setMemberStatus,
  changesTeamPage: true,
};

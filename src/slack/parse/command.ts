import type { DigestSetting } from '../../digests/digest.service.ts';
import type { InvitableRole } from '../../invitations/invitation.service.ts';
import type { MemberStatus, Role } from '../../members/member.entity.ts';
import type { MessageStatus } from '../../messaging/message.entity.ts';
import type { StatementKind } from '../../statements/statement.service.ts';
import type { Period as StatsPeriod } from '../../stats/stats.service.ts';
import type { MemberRef } from './references.ts';

/** A `/team` command as its subcommand's parser reads it (src/slack/commands/<name>.ts). */
export type TeamCommand =
  | { name: 'menu' }
  | { name: 'help' }
  | { name: 'setup'; teamName: string; currency?: string }
  | { name: 'balance' }
  | { name: 'list'; status?: MemberStatus }
  | { name: 'show'; member: MemberRef }
  | { name: 'create'; memberName: string; email?: string }
  | { name: 'invite'; invitee: { email: string } | { slackUserId: string }; role: InvitableRole }
  | { name: 'invitations' }
  | { name: 'revoke'; invitation: { id: number } | { email: string } }
  | { name: 'enable' | 'disable' | 'delete' | 'key'; member: MemberRef }
  | { name: 'credit' | 'debit'; member: MemberRef; amount: string; reason?: string }
  | {
      name: 'autorecharge';
      member: MemberRef;
      rule: { threshold: string; amount: string; dailyCap?: string } | 'off';
    }
  | { name: 'role'; member: MemberRef; role: Role }
  | { name: 'request'; amount: string; reason?: string }
  | { name: 'requests' }
  | { name: 'link'; member: MemberRef; slackUserId: string }
  | { name: 'stats'; member?: MemberRef; period?: StatsPeriod }
  | { name: 'logs'; member: MemberRef; status?: MessageStatus; from?: string; to?: string }
  | { name: 'export'; kind: StatementKind; member?: MemberRef; from?: string; to?: string }
  | { name: 'alerts'; channel: string; level?: string }
  | { name: 'timezone'; timezone?: string }
  | { name: 'limit'; member: MemberRef; limit: { amount: string } | 'off' }
  | {
      name: 'digest';
      channel?: string;
      frequency: DigestSetting;
      time?: string;
      timezone?: string;
    };

import { RoleChangeRequest } from '../approvals/role-change-request.entity.ts';
import { AuditEvent } from '../audit/audit-event.entity.ts';
import { Invitation } from '../invitations/invitation.entity.ts';
import { JobReceipt } from '../jobs/job-receipt.entity.ts';
import { AutoRechargeRule } from '../ledger/auto-recharge-rule.entity.ts';
import { Transfer } from '../ledger/transfer.entity.ts';
import { Member } from '../members/member.entity.ts';
import { Message } from '../messaging/message.entity.ts';
import { MessagePrice } from '../messaging/message-price.entity.ts';
import { OutboxMessage } from '../outbox/outbox-message.entity.ts';
import {
  SlackInstallation,
  SlackInstallationWorkspace,
  SlackOAuthState,
  SlackRateLimit,
} from '../slack/installation.entity.ts';
import { MessageStatsDaily } from '../stats/message-stats.entity.ts';
import { Team } from '../teams/team.entity.ts';

/** Every entity the ORM knows; a feature adds its entity here and a migration beside it. */
export const entities = [
  Team,
  Member,
  Transfer,
  AutoRechargeRule,
  Invitation,
  RoleChangeRequest,
  AuditEvent,
  OutboxMessage,
  JobReceipt,
  Message,
  MessagePrice,
  MessageStatsDaily,
  SlackInstallation,
  SlackInstallationWorkspace,
  SlackOAuthState,
  SlackRateLimit,
];

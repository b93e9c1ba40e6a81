import { ApprovalService } from './approvals/approval.service.ts';
import { AuditService } from './audit/audit.service.ts';
import { type Config, loadConfig, type SmsConfig } from './config.ts';
import { CreditRequestService } from './credit-requests/credit-request.service.ts';
import { DigestService } from './digests/digest.service.ts';
import { InvitationService } from './invitations/invitation.service.ts';
import { InvitationTokens, processLocalSecret } from './invitations/invitation-token.ts';
import { AutoRechargeService } from './ledger/auto-recharge.service.ts';
import { LedgerService } from './ledger/ledger.service.ts';
import { SpendingLimitService } from './ledger/spending-limit.service.ts';
import { createLogger, type Logger } from './logger.ts';
import { MemberService } from './members/member.service.ts';
import { MessagingService, messagingSettings } from './messaging/messaging.service.ts';
import type { Orm } from './platform/database.ts';
import { StatementService } from './statements/statement.service.ts';
import { ChartService } from './stats/chart.service.ts';
import { StatsService } from './stats/stats.service.ts';
import { TeamService } from './teams/team.service.ts';

/** Every application service, built once per process; transports and workers call only these. */
export interface Services {
  teams: TeamService;
  members: MemberService;
  ledger: LedgerService;
  autoRecharge: AutoRechargeService;
  invitations: InvitationService;
  approvals: ApprovalService;
  creditRequests: CreditRequestService;
  audit: AuditService;
  messaging: MessagingService;
  stats: StatsService;
  charts: ChartService;
  digests: DigestService;
  spendingLimits: SpendingLimitService;
  statements: StatementService;
}

/**
 * `sms` defaults to the sandbox provider with the product's default settings; `serverSecret`
 * (platform/server-secret.ts) to a secret of this process alone, enough where one process both
 * creates and sends invitations.
 */
export function createServices(
  orm: Orm,
  options: { sms?: SmsConfig; logger?: Logger; serverSecret?: string } = {},
): Services {
  const logger = options.logger ?? createLogger('silent');
  const stats = new StatsService(orm);
  const ledger = new LedgerService(orm);
  const messaging = new MessagingService(
    orm,
    messagingSettings(options.sms ?? loadConfig({}).sms, logger),
    logger,
  );
  return {
    teams: new TeamService(orm),
    members: new MemberService(orm),
    ledger,
    autoRecharge: new AutoRechargeService(orm),
    invitations: new InvitationService(
      orm,
      undefined,
      new InvitationTokens(options.serverSecret ?? processLocalSecret),
    ),
    approvals: new ApprovalService(orm),
    creditRequests: new CreditRequestService(orm),
    audit: new AuditService(orm),
    messaging,
    stats,
    charts: new ChartService(orm, stats),
    digests: new DigestService(orm),
    spendingLimits: new SpendingLimitService(orm),
    statements: new StatementService(orm, ledger, messaging),
  };
}

/** Lets go of what the services hold besides the ORM (the chart drawing thread). */
export async function closeServices(services: Services): Promise<void> {
  await services.charts.close();
}

/** What the transports and workers are given. */
export interface AppDeps {
  config: Config;
  logger: Logger;
  orm: Orm;
  services: Services;
}

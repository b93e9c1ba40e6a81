import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { RoleChangeRequest } from './approvals/role-change-request.entity.ts';
import { AuditEvent } from './audit/audit-event.entity.ts';
import { CreditRequest } from './credit-requests/credit-request.entity.ts';
import { Invitation } from './invitations/invitation.entity.ts';
import { JobReceipt } from './jobs/job-receipt.entity.ts';
import { AutoRechargeRule } from './ledger/auto-recharge-rule.entity.ts';
import { MonthlySpend, SpendingLimit } from './ledger/spending-limit.entity.ts';
import { Transfer } from './ledger/transfer.entity.ts';
import { createLogger, type Logger } from './logger.ts';
import { KeyHolderChanges } from './members/key-holder-changes.entity.ts';
import { Member } from './members/member.entity.ts';
import { Message } from './messaging/message.entity.ts';
import { MessagePrice } from './messaging/message-price.entity.ts';
import { OutboxMessage } from './outbox/outbox-message.entity.ts';
import type { Orm } from './platform/database.ts';
import { RateLimitCounter } from './platform/rate-limit-counter.entity.ts';
import {
  SlackInstallation,
  SlackInstallationWorkspace,
  SlackOAuthState,
  SlackRateLimit,
} from './slack/installation.entity.ts';
import { MessageStatsDaily } from './stats/message-stats.entity.ts';
import { TeamChart } from './stats/team-chart.entity.ts';
import { Team } from './teams/team.entity.ts';

/**
 * The product's ORM: every feature's entity and the migrations. It sits above the features (it
 * lists them), so platform/ stays free of them.
 */

/** Every entity the ORM knows; a feature adds its entity here and a migration in migrations/. */
export const entities = [
  Team,
  Member,
  KeyHolderChanges,
  Transfer,
  AutoRechargeRule,
  Invitation,
  RoleChangeRequest,
  CreditRequest,
  AuditEvent,
  OutboxMessage,
  JobReceipt,
  Message,
  MessagePrice,
  MessageStatsDaily,
  TeamChart,
  RateLimitCounter,
  SpendingLimit,
  MonthlySpend,
  SlackInstallation,
  SlackInstallationWorkspace,
  SlackOAuthState,
  SlackRateLimit,
];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const migrationsPath = path.join(root, 'migrations');

/** How long a transaction may wait for a pooled connection before it fails. */
const POOL_WAIT_MS = 30_000;

/**
 * The ORM's pool of up to `max` connections (DATABASE_POOL_MAX). A burst waits for a connection
 * rather than failing: up to POOL_WAIT_MS in the queue, after which the request fails with an
 * error instead of hanging. Connections live through a lull of a minute (opening 20 at once on
 * a busy host stalls everything for a moment).
 */
export function poolOptions(max = 20): NonNullable<Options['pool']> {
  return { min: 0, max, idleTimeoutMillis: 60_000 };
}

export function ormOptions(
  url: string,
  logger: Logger = createLogger('silent'),
  overrides: Partial<Options> = {},
): Options {
  const ormLogger = logger.child({ component: 'orm' });
  return {
    clientUrl: url,
    logger: (message) => ormLogger.debug(message),
    entities,
    extensions: [Migrator],
    migrations: {
      path: migrationsPath,
      pathTs: migrationsPath,
      glob: '!(*.d).ts',
      emit: 'ts',
      // Migrations are written by hand and reviewed; the schema diff is checked against a
      // migrated database (migration:check), so no snapshot file has to be kept in step.
      snapshot: false,
      transactional: true,
      allOrNothing: true,
    },
    pool: poolOptions(),
    driverOptions: { connectionTimeoutMillis: POOL_WAIT_MS },
    debug: false,
    ...overrides,
  };
}

export async function connectOrm(
  url: string,
  logger: Logger = createLogger('silent'),
  overrides: Partial<Options> = {},
): Promise<Orm> {
  return MikroORM.init(ormOptions(url, logger, overrides));
}

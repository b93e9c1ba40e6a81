import type { Command } from 'commander';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Orm } from '../platform/database.ts';
import { createInstallationStore } from '../slack/workspace-tokens.ts';

interface CliContext {
  withServices<T>(work: (services: unknown, orm: Orm) => Promise<T>): Promise<T>;
  print(line: string): void;
}

/** Operator commands of multi-workspace mode. */
export function registerSlackCommands(
  program: Command,
  context: CliContext,
  config: Config,
  logger: Logger,
): void {
  program
    .command('slack:reseal-tokens')
    .description(
      'seal every stored Slack token again with TOKEN_ENCRYPTION_KEY (after rotating it; see docs/slack.md)',
    )
    .action(() =>
      context.withServices(async (_services, orm) => {
        const store = createInstallationStore(config, orm, logger);
        if (!store) {
          throw new Error(
            'slack:reseal-tokens needs multi-workspace mode: SLACK_CLIENT_ID and TOKEN_ENCRYPTION_KEY',
          );
        }
        const resealed = await store.resealAll();
        context.print(`${resealed} installation(s) sealed again with the current key`);
      }),
    );
}

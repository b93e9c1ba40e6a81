import { Command, CommanderError } from 'commander';
import { createServices, type Services } from '../app.ts';
import { loadConfigOrExit } from '../config.ts';
import { createLogger } from '../logger.ts';
import { maskApiKey } from '../members/api-keys.ts';
import type { Orm } from '../platform/database.ts';
import { loadServerSecret } from '../platform/server-secret.ts';
import { openDatabase, openOrm } from '../runtime.ts';
import { operator } from '../shared/actor.ts';
import { isDomainError } from '../shared/errors.ts';
import { formatMoney } from '../shared/money.ts';
import { registerMessagingCommands } from './messaging.ts';
import { registerSlackCommands } from './slack.ts';
import { resolveTeamId, withTeamOptions } from './team-option.ts';

/** The operator's command line: `npm run cli -- <command>`. Prints results; errors are one line, exit 1. */
interface CliContext {
  /** Opens the database (and runs migrations) for the commands that need it. */
  withServices<T>(work: (services: Services, orm: Orm) => Promise<T>): Promise<T>;
  print(line: string): void;
}

export function buildProgram(context: CliContext): Command {
  const program = new Command('teamops')
    .description('teamops operator commands')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  program
    .command('migrate')
    .description('apply pending database migrations')
    .action(() => context.withServices(async () => context.print('migrations are up to date')));

  program
    .command('migration:check')
    .description('fail when the entities and the migrations disagree')
    .action(() =>
      context.withServices(async (_services, orm) => {
        const needed = await orm.migrator.checkSchema();
        if (needed)
          throw new CheckFailed('the entities differ from the migrated schema: run migration:create');
        context.print('migrations match the entities');
      }),
    );

  program
    .command('migration:create')
    .description('write a migration for what the entities changed')
    .action(() =>
      context.withServices(async (_services, orm) => {
        const result = await orm.migrator.create();
        context.print(result.fileName ? `wrote migrations/${result.fileName}` : 'no changes');
      }),
    );

  program
    .command('team:create')
    .description('create a team and its owner (for running without Slack); prints the owner API key once')
    .requiredOption('--name <name>', 'team name')
    .option('--currency <code>', 'ISO 4217 currency', 'EUR')
    .option('--slack-team <id>', 'Slack workspace id (T…)')
    .requiredOption('--owner-name <name>', "owner's display name")
    .option('--owner-email <email>', "owner's email")
    .action((options) =>
      context.withServices(async (services) => {
        const { team, owner, apiKey } = await services.teams.setup({
          name: options.name,
          currency: options.currency,
          slackTeamId: options.slackTeam ?? null,
          owner: { name: options.ownerName, email: options.ownerEmail ?? null },
          via: 'cli',
        });
        context.print(`team ${team.id} "${team.name}" (${team.currency}) created; owner member ${owner.id}`);
        context.print(`owner API key (shown once): ${apiKey}`);
      }),
    );

  withTeamOptions(program.command('team:topup'))
    .description('add purchased credit to a team’s master balance')
    .requiredOption('--amount <amount>', 'decimal amount, e.g. 100 or 12.5')
    .option('--reference <ref>', 'purchase reference; the same reference is never added twice')
    .action((options) =>
      context.withServices(async (services) => {
        const teamId = await resolveTeamId(services, options);
        const result = await services.ledger.topUp(operator, {
          teamId,
          amount: options.amount,
          reference: options.reference ?? null,
        });
        const balance = formatMoney(result.masterBalance ?? 0n, result.currency);
        context.print(
          result.replayed
            ? `reference ${options.reference} was already recorded (transfer ${result.transferId}); master balance then: ${balance}`
            : `topped up ${formatMoney(result.amount, result.currency)}; master balance now ${balance} (transfer ${result.transferId})`,
        );
      }),
    );

  withTeamOptions(program.command('team:credit-limit'))
    .description('the primary account’s credit limit: how far below zero the master balance may go')
    .requiredOption('--amount <amount>', 'decimal amount, e.g. 500; 0 makes the team prepaid again')
    .action((options) =>
      context.withServices(async (services) => {
        const teamId = await resolveTeamId(services, options);
        const result = await services.ledger.setCreditLimit(operator, {
          teamId,
          creditLimit: options.amount,
        });
        context.print(
          `credit limit ${formatMoney(result.before, result.currency)} → ${formatMoney(result.after, result.currency)}`,
        );
      }),
    );

  withTeamOptions(program.command('team:show'))
    .description('a team, its master balance and its members')
    .action((options) =>
      context.withServices(async (services) => {
        const teamId = await resolveTeamId(services, options);
        const team = await services.teams.get(operator, teamId);
        context.print(
          `team ${team.id} "${team.name}"${team.slackTeamId ? ` (Slack ${team.slackTeamId})` : ''}`,
        );
        context.print(`master balance: ${formatMoney(team.masterBalance, team.currency)}`);
        context.print(`credit limit: ${formatMoney(team.creditLimit, team.currency)}`);
        const members = await services.members.list(operator, { teamId, limit: 100 });
        for (const m of members.items) {
          context.print(
            `  #${m.id}  ${m.name}  ${m.email ?? '-'}  ${m.role}  ${m.status}  ${formatMoney(m.balance, team.currency)}${m.creditLimit > 0n ? ` (credit limit ${formatMoney(m.creditLimit, team.currency)})` : ''}  ${maskApiKey(m.apiKeyPrefix)}`,
          );
        }
        if (members.total > members.items.length)
          context.print(`  … and ${members.total - members.items.length} more`);
      }),
    );

  registerMessagingCommands(program, context);
  return program;
}

/** A failed check: exit 1 with its message, like a domain error. */
class CheckFailed extends Error {}

async function main(argv: string[]): Promise<number> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, { role: 'cli' });
  const context: CliContext = {
    print: (line) => console.log(line),
    async withServices(work) {
      // Starting the embedded database takes seconds when no server runs: say so, on stderr
      // (stdout is the command's answer).
      const database = await openDatabase(config, logger, (message) =>
        process.stderr.write(`teamops: ${message}\n`),
      );
      try {
        const orm = await openOrm(database, config, logger);
        try {
          const serverSecret = await loadServerSecret(config);
          return await work(createServices(orm, { sms: config.sms, logger, serverSecret }), orm);
        } finally {
          await orm.close();
        }
      } finally {
        await database.stop();
      }
    },
  };
  const program = buildProgram(context);
  registerSlackCommands(program, context, config, logger);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (isDomainError(error) || error instanceof CheckFailed) {
      console.error(`teamops: ${error.message}`);
      return 1;
    }
    console.error(`teamops: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exit(await main(process.argv.slice(2)));
}

import type { Command } from 'commander';
import type { Services } from '../app.ts';
import { operator } from '../shared/actor.ts';
import { formatMoney } from '../shared/money.ts';
import { resolveTeamId, withTeamOptions } from './team-option.ts';

/** What a command needs from the CLI: the services on an open database, and a way to print. */
export interface MessagingCliContext {
  withServices<T>(work: (services: Services) => Promise<T>): Promise<T>;
  print(line: string): void;
}

/** `price:set` and `price:list`: the operator's per-team price list for SMS parts. */
export function registerMessagingCommands(program: Command, context: MessagingCliContext): void {
  withTeamOptions(program.command('price:set'))
    .description('set the price of one SMS part to numbers starting with a prefix ("default" for all others)')
    .requiredOption('--prefix <digits>', 'country or network prefix without +, e.g. 49 or 4917; or "default"')
    .requiredOption('--price <amount>', 'decimal price per part, e.g. 0.075')
    .action((options) =>
      context.withServices(async (services) => {
        const teamId = await resolveTeamId(services, options);
        const result = await services.messaging.setPrice(operator, {
          teamId,
          prefix: options.prefix,
          price: options.price,
        });
        const { currency } = await services.messaging.listPrices(operator, { teamId });
        const what = result.prefix === '' ? 'default price' : `price for +${result.prefix}…`;
        context.print(
          `${what}: ${formatMoney(result.price, currency)} per part` +
            (result.previous === null ? '' : ` (was ${formatMoney(result.previous, currency)})`),
        );
      }),
    );

  withTeamOptions(program.command('price:list'))
    .description("a team's SMS prices per part, longest prefix first")
    .action((options) =>
      context.withServices(async (services) => {
        const teamId = await resolveTeamId(services, options);
        const list = await services.messaging.listPrices(operator, { teamId });
        const money = (micros: bigint) => formatMoney(micros, list.currency);
        const prices = [...list.prices].sort(
          (a, b) => b.prefix.length - a.prefix.length || a.prefix.localeCompare(b.prefix),
        );
        for (const entry of prices) context.print(`+${entry.prefix.padEnd(15)} ${money(entry.price)}`);
        context.print(
          list.defaultPrice === null
            ? `${'default'.padEnd(16)} ${money(list.productDefaultPrice)} (product default)`
            : `${'default'.padEnd(16)} ${money(list.defaultPrice)}`,
        );
      }),
    );
}

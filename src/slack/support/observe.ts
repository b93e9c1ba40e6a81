import type {
  AllMiddlewareArgs,
  AnyMiddlewareArgs,
  Middleware,
  SlackCommandMiddlewareArgs,
} from '@slack/bolt';
import { slackAckDuration } from '../../platform/metrics.ts';
import { currentRequest } from '../../platform/request-context.ts';
import { isSubcommand } from '../commands/index.ts';
import type { TeamopsContext } from '../context.ts';

/** Names the Slack workspace in the request log line of the request being served. */
export const recordSlackTeam: Middleware<AnyMiddlewareArgs, TeamopsContext> = async ({ context, next }) => {
  const request = currentRequest();
  if (request && context.teamId) request.slackTeam = context.teamId;
  await next();
};

type CommandArgs = AllMiddlewareArgs<TeamopsContext> & SlackCommandMiddlewareArgs;

/**
 * Measures how long a slash command's listener takes to ack, labelled `/team <subcommand>` (only
 * subcommands `SUBCOMMAND_SPECS` knows, so a typo cannot add a series).
 */
export function timedAck(
  listener: (args: CommandArgs) => Promise<void>,
): (args: CommandArgs) => Promise<void> {
  return (args) => {
    const started = performance.now();
    const word = args.body.text.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
    const command = `${args.body.command} ${word === '' ? 'menu' : isSubcommand(word) ? word : 'other'}`;
    const ack: CommandArgs['ack'] = async (response) => {
      try {
        await args.ack(response);
      } finally {
        slackAckDuration.observe({ command }, (performance.now() - started) / 1000);
      }
    };
    return listener({ ...args, ack });
  };
}

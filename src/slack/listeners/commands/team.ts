import type { AllMiddlewareArgs, RespondFn, SlackCommandMiddlewareArgs, SlashCommand } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { isDomainError, UnauthenticatedError } from '../../../shared/errors.ts';
import { parseTeamCommand, SUBCOMMAND_SPECS } from '../../commands/index.ts';
import { setup } from '../../commands/setup.ts';
import type { CommandRequest, Reply } from '../../commands/spec.ts';
import {
  callerTeamView,
  identifyCaller,
  type SlackCaller,
  type SlackDeps,
  type TeamopsContext,
} from '../../context.ts';
import type { TeamCommand } from '../../parse/command.ts';
import { outsiderHelpBlocks, usageText } from '../../presenters/help.ts';
import { menuModal } from '../../presenters/modals.ts';
import { errorText } from '../../presenters/replies.ts';
import { refreshHome } from '../../support/app-home.ts';

type TeamCommandArgs = AllMiddlewareArgs<TeamopsContext> & SlackCommandMiddlewareArgs;

/**
 * `/team …`: a malformed command is answered in the ack itself; anything else is acked empty at
 * once, and the reply follows through `respond()` once the service has answered.
 */
export async function teamCommand({ ack, body, respond, client, context }: TeamCommandArgs): Promise<void> {
  const deps = context.teamops;
  const parsed = parseTeamCommand(body.text);
  if (!parsed.ok) {
    await ack({
      response_type: 'ephemeral',
      text: usageText(parsed.subcommand && SUBCOMMAND_SPECS[parsed.subcommand].usage, parsed.message),
    });
    return;
  }
  await ack();
  const command = parsed.command;
  // The menu's trigger id expires 3 s after the command: it opens at once, never behind a queue.
  if (command.name === 'menu') return openMenu(deps, client, body, respond);
  await context.afterAck.run(async () => {
    try {
      if (command.name === 'setup') {
        const { owner, ...reply } = await setup.handle(command, { deps, client, body, respond });
        await respond({ response_type: 'ephemeral', ...reply });
        if (setup.changesTeamPage) refreshHome(deps, client, owner);
        return;
      }
      const caller = await identifyOrExplain(command, deps, client, body, respond);
      if (!caller) return;
      const request: CommandRequest = { deps, client, body, respond, caller };
      const reply = await dispatch(command, request);
      await respond({ response_type: 'ephemeral', ...reply });
      if (SUBCOMMAND_SPECS[command.name].changesTeamPage) refreshHome(deps, client, caller);
    } catch (error) {
      await replyWithError(deps, respond, error, body);
    }
  });
}

async function openMenu(
  deps: SlackDeps,
  client: WebClient,
  body: SlashCommand,
  respond: RespondFn,
): Promise<void> {
  try {
    const caller = await identifyOrExplain({ name: 'menu' }, deps, client, body, respond);
    if (!caller) return;
    const team = await callerTeamView(deps, caller);
    await client.views.open({ trigger_id: body.trigger_id, view: menuModal(team, caller.member) });
  } catch (error) {
    await replyWithError(deps, respond, error, body);
  }
}

function dispatch(
  command: Exclude<TeamCommand, { name: 'menu' | 'setup' }>,
  request: CommandRequest,
): Promise<Reply> {
  // SUBCOMMAND_SPECS pairs each name with the handler of that name's shape; TypeScript cannot follow the pairing.
  const handler = SUBCOMMAND_SPECS[command.name].handle as (
    command: TeamCommand,
    request: CommandRequest,
  ) => Promise<Reply>;
  return handler(command, request);
}

/** An unknown Slack user is told how to become a member, and nothing runs. */
async function identifyOrExplain(
  command: TeamCommand,
  deps: SlackDeps,
  client: WebClient,
  body: SlashCommand,
  respond: RespondFn,
): Promise<SlackCaller | undefined> {
  try {
    return await identifyCaller(deps, client, body.team_id, body.user_id);
  } catch (error) {
    if (!(error instanceof UnauthenticatedError)) throw error;
    if (command.name === 'help') {
      const team = await deps.services.teams.getBySlackTeam(body.team_id);
      await respond({
        response_type: 'ephemeral',
        text: errorText(error),
        blocks: outsiderHelpBlocks(team?.name ?? null, setup.usage),
      });
    } else {
      await respond({ response_type: 'ephemeral', text: errorText(error) });
    }
    return undefined;
  }
}

async function replyWithError(
  deps: SlackDeps,
  respond: RespondFn,
  error: unknown,
  body: SlashCommand,
): Promise<void> {
  if (!isDomainError(error)) {
    deps.logger.error({ err: error, text: body.text, user: body.user_id }, '/team failed');
  }
  try {
    await respond({ response_type: 'ephemeral', text: errorText(error) });
  } catch (respondError) {
    deps.logger.warn({ err: respondError }, 'could not deliver the /team error reply');
  }
}

import type { AllMiddlewareArgs, RespondFn, SlackCommandMiddlewareArgs, SlashCommand } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { memberActor } from '../../../shared/actor.ts';
import { isDomainError, UnauthenticatedError } from '../../../shared/errors.ts';
import {
  callerTeamView,
  identifyCaller,
  type SlackCaller,
  type SlackDeps,
  slackProfile,
  type TeamopsContext,
} from '../../context.ts';
import { parseTeamCommand, type TeamCommand } from '../../parse/command.ts';
import { outsiderHelpBlocks, usageText } from '../../presenters/help.ts';
import { menuModal } from '../../presenters/modals.ts';
import { errorText, setupBlocks, setupText } from '../../presenters/replies.ts';
import { refreshHome } from '../../support/app-home.ts';
import { showHelp } from './help.ts';
import { inviteMember, listInvitations, revokeInvitation } from './invitations.ts';
import {
  askToDeleteMember,
  createMember,
  disableMember,
  enableMember,
  linkMember,
  listMembers,
  rotateKey,
  showMember,
} from './members.ts';
import { showLogs, showStats } from './messaging.ts';
import { creditMember, debitMember, setAutoRecharge, showBalance } from './money.ts';
import { requestRoleChange } from './role.ts';
import { setAlerts, setDigest } from './settings.ts';
import type { CommandName, CommandOf, CommandRequest, Reply, SubcommandHandler } from './subcommand.ts';

/**
 * Every subcommand after parsing: its handler, and whether its success changes what the team page
 * (App Home) shows. The mapped type makes the type checker refuse a subcommand left out, and
 * `changesTeamPage` must be decided for each.
 */
const SUBCOMMANDS: { [N in CommandName]: { handle: SubcommandHandler<N>; changesTeamPage: boolean } } = {
  help: { handle: showHelp, changesTeamPage: false },
  balance: { handle: showBalance, changesTeamPage: false },
  list: { handle: listMembers, changesTeamPage: false },
  show: { handle: showMember, changesTeamPage: false },
  create: { handle: createMember, changesTeamPage: true },
  invite: { handle: inviteMember, changesTeamPage: true },
  invitations: { handle: listInvitations, changesTeamPage: false },
  revoke: { handle: revokeInvitation, changesTeamPage: true },
  enable: { handle: enableMember, changesTeamPage: true },
  disable: { handle: disableMember, changesTeamPage: true },
  credit: { handle: creditMember, changesTeamPage: true },
  debit: { handle: debitMember, changesTeamPage: true },
  // Deleting asks first; the confirmation button refreshes the page.
  delete: { handle: askToDeleteMember, changesTeamPage: false },
  autorecharge: { handle: setAutoRecharge, changesTeamPage: true },
  role: { handle: requestRoleChange, changesTeamPage: false },
  link: { handle: linkMember, changesTeamPage: true },
  stats: { handle: showStats, changesTeamPage: false },
  logs: { handle: showLogs, changesTeamPage: false },
  key: { handle: rotateKey, changesTeamPage: true },
  alerts: { handle: setAlerts, changesTeamPage: false },
  digest: { handle: setDigest, changesTeamPage: false },
};

type TeamCommandArgs = AllMiddlewareArgs<TeamopsContext> & SlackCommandMiddlewareArgs;

/**
 * `/team …`: a malformed command is answered in the ack itself; anything else is acked empty at
 * once, and the reply follows through `respond()` once the service has answered.
 */
export async function teamCommand({ ack, body, respond, client, context }: TeamCommandArgs): Promise<void> {
  const deps = context.teamops;
  const parsed = parseTeamCommand(body.text);
  if (!parsed.ok) {
    await ack({ response_type: 'ephemeral', text: usageText(parsed.subcommand, parsed.message) });
    return;
  }
  await ack();
  const command = parsed.command;
  // The menu's trigger id expires 3 s after the command: it opens at once, never behind a queue.
  if (command.name === 'menu') return openMenu(deps, client, body, respond);
  await context.afterAck.run(async () => {
    try {
      if (command.name === 'setup') return await setupTeam(command, deps, client, body, respond);
      const caller = await identifyOrExplain(command, deps, client, body, respond);
      if (!caller) return;
      const request: CommandRequest = { deps, client, body, respond, caller };
      const reply = await dispatch(command, request);
      await respond({ response_type: 'ephemeral', ...reply });
      if (SUBCOMMANDS[command.name].changesTeamPage) await refreshHome(deps, client, caller);
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
  // SUBCOMMANDS pairs each name with the handler of that name's shape; TypeScript cannot follow the pairing.
  const handler = SUBCOMMANDS[command.name].handle as (
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
        blocks: outsiderHelpBlocks(team?.name ?? null),
      });
    } else {
      await respond({ response_type: 'ephemeral', text: errorText(error) });
    }
    return undefined;
  }
}

/** The first caller in a workspace without a team becomes its owner, named after their Slack profile. */
async function setupTeam(
  command: CommandOf<'setup'>,
  deps: SlackDeps,
  client: WebClient,
  body: SlashCommand,
  respond: RespondFn,
): Promise<void> {
  const profile = await slackProfile(client, body.user_id, deps);
  const { team, owner, apiKey } = await deps.services.teams.setup({
    slackTeamId: body.team_id,
    name: command.teamName,
    currency: command.currency ?? null,
    owner: { name: profile.name ?? body.user_name, email: profile.email ?? null, slackUserId: body.user_id },
    via: 'slack',
  });
  await respond({
    response_type: 'ephemeral',
    text: setupText(team),
    blocks: setupBlocks(team, owner, apiKey),
  });
  await refreshHome(deps, client, {
    member: owner,
    actor: memberActor(owner.id, 'slack'),
    slackTeamId: body.team_id,
    slackUserId: body.user_id,
  });
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

import type { RespondFn, SlashCommand } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { SlackCaller, SlackDeps } from '../../context.ts';
import type { TeamCommand } from '../../parse/command.ts';

/** One `/team` invocation after the ack, with the member who typed it. */
export interface CommandRequest {
  deps: SlackDeps;
  client: WebClient;
  body: SlashCommand;
  respond: RespondFn;
  caller: SlackCaller;
}

/** What the caller sees: always ephemeral, `text` is the notification and screen-reader fallback. */
export interface Reply {
  text: string;
  blocks?: KnownBlock[];
}

export type CommandName = Exclude<TeamCommand['name'], 'menu' | 'setup'>;
/** The parsed command named N (several names may share one shape, such as enable and disable). */
export type CommandOf<N extends TeamCommand['name']> = TeamCommand extends infer C
  ? C extends { name: infer M }
    ? [N] extends [M]
      ? Omit<C, 'name'> & { name: N }
      : never
    : never
  : never;

/** Parses nothing and decides nothing: calls a service with the parsed command and renders the outcome. */
export type SubcommandHandler<N extends CommandName> = (
  command: CommandOf<N>,
  request: CommandRequest,
) => Promise<Reply>;

import type { RespondFn, SlashCommand } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import type { WebClient } from '@slack/web-api';
import type { Role } from '../../members/member.entity.ts';
import type { SlackCaller, SlackDeps } from '../context.ts';
import type { TeamCommand } from '../parse/command.ts';
import type { Words } from '../parse/words.ts';

/** One `/team` invocation after the ack, before anyone is identified. */
export interface GuestRequest {
  deps: SlackDeps;
  client: WebClient;
  body: SlashCommand;
  respond: RespondFn;
}

/** One `/team` invocation after the ack, with the member who typed it. */
export interface CommandRequest extends GuestRequest {
  caller: SlackCaller;
}

/** What the caller sees: always ephemeral, `text` is the notification and screen-reader fallback. */
export interface Reply {
  text: string;
  blocks?: KnownBlock[];
}

/** Every word that may follow `/team` (the bare `/team` opens the menu and is no subcommand). */
export type SubcommandName = Exclude<TeamCommand['name'], 'menu'>;

/** The parsed command named N (several names may share one shape, such as enable and disable). */
export type CommandOf<N extends TeamCommand['name']> = TeamCommand extends infer C
  ? C extends { name: infer M }
    ? [N] extends [M]
      ? Omit<C, 'name'> & { name: N }
      : never
    : never
  : never;

/** Parses nothing and decides nothing: calls a service with the parsed command and renders the outcome. */
export type SubcommandHandler<N extends SubcommandName> = (
  command: CommandOf<N>,
  request: CommandRequest,
) => Promise<Reply>;

/** `/team setup` runs for someone who is not a member yet, and answers with the member they became. */
export type SetupHandler = (
  command: CommandOf<'setup'>,
  request: GuestRequest,
) => Promise<Reply & { owner: SlackCaller }>;

/** Everything about one subcommand: how it is written, read and carried out. */
export interface SubcommandSpec<N extends SubcommandName> {
  usage: string;
  summary: string;
  /**
   * Which roles `/team help` shows it to. The services decide what anyone may actually do;
   * this only keeps the help page to what the reader can use.
   */
  shownTo: readonly Role[];
  /** Reads the words after the subcommand; throws UsageError naming the word at fault. */
  parse: (words: Words) => CommandOf<N>;
  handle: N extends 'setup' ? SetupHandler : SubcommandHandler<Exclude<N, 'setup'>>;
  /** Whether a success changes what the team page (App Home) shows, so it is published again. */
  changesTeamPage: boolean;
}

export const MANAGERS: readonly Role[] = ['owner', 'admin'];
export const EVERYONE: readonly Role[] = ['owner', 'admin', 'user'];

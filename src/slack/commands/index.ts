import type { Role } from '../../members/member.entity.ts';
import type { TeamCommand } from '../parse/command.ts';
import { quote, UsageError } from '../parse/references.ts';
import { tokenize } from '../parse/tokenize.ts';
import { Words } from '../parse/words.ts';
import { escapeText } from '../presenters/blocks.ts';
import { alerts } from './alerts.ts';
import { autorecharge } from './autorecharge.ts';
import { balance } from './balance.ts';
import { create } from './create.ts';
import { credit } from './credit.ts';
import { debit } from './debit.ts';
import { deleteMember } from './delete.ts';
import { digest } from './digest.ts';
import { disable } from './disable.ts';
import { enable } from './enable.ts';
import { exportStatement } from './export.ts';
import { help } from './help.ts';
import { invitations } from './invitations.ts';
import { invite } from './invite.ts';
import { key } from './key.ts';
import { limit } from './limit.ts';
import { link } from './link.ts';
import { list } from './list.ts';
import { logs } from './logs.ts';
import { request } from './request.ts';
import { requests } from './requests.ts';
import { revoke } from './revoke.ts';
import { role } from './role.ts';
import { setup } from './setup.ts';
import { show } from './show.ts';
import type { SubcommandName, SubcommandSpec } from './spec.ts';
import { stats } from './stats.ts';
import { timezone } from './timezone.ts';

/**
 * Every `/team` subcommand, in the order `/team help` lists them. The mapped type makes the type
 * checker refuse one left out or one too many, and each spec decides all of usage, parse, handle
 * and whether the team page changes.
 */
export const SUBCOMMAND_SPECS: { [N in SubcommandName]: SubcommandSpec<N> } = {
  help,
  setup,
  balance,
  list,
  show,
  create,
  invite,
  invitations,
  revoke,
  enable,
  disable,
  credit,
  debit,
  delete: deleteMember,
  autorecharge,
  role,
  request,
  requests,
  link,
  stats,
  logs,
  export: exportStatement,
  key,
  alerts,
  digest,
  timezone,
  limit,
};

export const SUBCOMMANDS = Object.keys(SUBCOMMAND_SPECS) as SubcommandName[];

export function isSubcommand(word: string): word is SubcommandName {
  return Object.hasOwn(SUBCOMMAND_SPECS, word);
}

/** The subcommands `/team help` shows a role, one line each: how to write it and what it does. */
export function helpLines(role: Role): string[] {
  return SUBCOMMANDS.filter((name) => SUBCOMMAND_SPECS[name].shownTo.includes(role)).map(
    (name) => `\`${escapeText(SUBCOMMAND_SPECS[name].usage)}\` — ${SUBCOMMAND_SPECS[name].summary}`,
  );
}

export type ParseResult =
  | { ok: true; command: TeamCommand }
  /** `subcommand` is known when the words after it were at fault, so the usage line can be shown. */
  | { ok: false; subcommand: SubcommandName | undefined; message: string };

/**
 * Turns the text after `/team` into a command. Never throws: anything it cannot read comes back
 * as `ok: false` with a message naming the word at fault.
 */
export function parseTeamCommand(text: string): ParseResult {
  let tokens: string[];
  try {
    tokens = tokenize(text ?? '');
  } catch {
    return { ok: false, subcommand: undefined, message: 'The command could not be read.' };
  }
  const [first, ...args] = tokens;
  if (first === undefined) return { ok: true, command: { name: 'menu' } };
  const word = first.toLowerCase();
  if (!isSubcommand(word))
    return {
      ok: false,
      subcommand: undefined,
      message: `${quote(first)} is not a /team command.`,
    };
  try {
    return { ok: true, command: SUBCOMMAND_SPECS[word].parse(new Words(word, args)) as TeamCommand };
  } catch (error) {
    if (error instanceof UsageError) return { ok: false, subcommand: word, message: error.message };
    return { ok: false, subcommand: word, message: 'The command could not be read.' };
  }
}

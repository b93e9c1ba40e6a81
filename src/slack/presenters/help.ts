import type { Role } from '../../members/member.entity.ts';
import { type Blocks, context, escapeText, header, section } from './blocks.ts';

const ROLE_INTRO: Record<Role, string> = {
  owner: 'You are the *owner*: you hold the master balance and manage every member.',
  admin: 'You are an *admin*: you manage members and move money.',
  user: 'You are a *user*: you see and use your own sub-account.',
};

/** `/team help`: only what the caller's role may do, one line a subcommand (src/slack/commands/help.ts). */
export function helpBlocks(role: Role, teamName: string, lines: readonly string[]): Blocks {
  // Each section holds at most 3,000 characters; the owner's list is longer than one.
  const half = Math.ceil(lines.length / 2);
  return [
    header(`/team — ${teamName}`),
    section(ROLE_INTRO[role]),
    section(lines.slice(0, half).join('\n')),
    ...(lines.length > half ? [section(lines.slice(half).join('\n'))] : []),
    context(
      '`<member>` is a mention (@name), an email or a member id. Amounts are decimals like `50` or `12.5`. `/team` alone opens the menu.',
    ),
  ];
}

/** Help for someone who is not a member yet: how to become one, nothing else. */
export function outsiderHelpBlocks(teamName: string | null, setupUsage: string): Blocks {
  return teamName === null
    ? [
        section(
          `No team is set up in this workspace yet. Create one and become its owner:\n\`${escapeText(setupUsage)}\``,
        ),
      ]
    : [
        section(
          `You are not a member of *${escapeText(teamName)}*. Ask its owner or an admin to add you with \`/team link\`, or to invite you.`,
        ),
      ];
}

/** A command that could not be read: what is wrong, and how its subcommand is written when known. */
export function usageText(usage: string | undefined, message: string): string {
  return usage
    ? `${message}\nUsage: \`${usage}\``
    : `${message} Try \`/team help\` for the list of commands.`;
}

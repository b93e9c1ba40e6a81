import type { Role } from '../../members/member.entity.ts';

export const SUBCOMMANDS = [
  'help',
  'setup',
  'balance',
  'list',
  'show',
  'create',
  'invite',
  'invitations',
  'revoke',
  'enable',
  'disable',
  'credit',
  'debit',
  'delete',
  'autorecharge',
  'role',
  'link',
  'stats',
  'logs',
  'key',
  'alerts',
  'digest',
] as const;
export type Subcommand = (typeof SUBCOMMANDS)[number];

export function isSubcommand(word: string): word is Subcommand {
  return (SUBCOMMANDS as readonly string[]).includes(word);
}

const managers: readonly Role[] = ['owner', 'admin'];
const everyone: readonly Role[] = ['owner', 'admin', 'user'];

interface SubcommandSpec {
  usage: string;
  summary: string;
  /**
   * Which roles `/team help` shows it to. The services decide what anyone may actually do;
   * this only keeps the help page to what the reader can use.
   */
  shownTo: readonly Role[];
}

export const GRAMMAR: Record<Subcommand, SubcommandSpec> = {
  help: { usage: '/team help', summary: 'what you can do here', shownTo: everyone },
  setup: {
    usage: '/team setup <team name> [currency]',
    summary: 'create the team for this workspace; you become its owner',
    shownTo: [],
  },
  balance: {
    usage: '/team balance',
    summary: 'the master balance (your own balance if you are a user)',
    shownTo: everyone,
  },
  list: {
    usage: '/team list [active|inactive|invited|closed]',
    summary: 'members with email, masked key, balance and status',
    shownTo: managers,
  },
  show: { usage: '/team show <member>', summary: "one member's details", shownTo: everyone },
  create: {
    usage: '/team create <name> [email]',
    summary: 'a new sub-account with a generated API key, shown once',
    shownTo: managers,
  },
  invite: {
    usage: '/team invite <email | @user> [admin|user]',
    summary: 'invite someone to join as a member',
    shownTo: managers,
  },
  invitations: { usage: '/team invitations', summary: 'pending invitations', shownTo: managers },
  revoke: {
    usage: '/team revoke <invitation id | email>',
    summary: 'withdraw a pending invitation',
    shownTo: managers,
  },
  enable: { usage: '/team enable <member>', summary: "accept the member's API key again", shownTo: managers },
  disable: {
    usage: '/team disable <member>',
    summary: "refuse the member's API key; nothing is charged",
    shownTo: managers,
  },
  credit: {
    usage: '/team credit <member> <amount> [reason]',
    summary: 'move money from the master balance to a member',
    shownTo: managers,
  },
  debit: {
    usage: '/team debit <member> <amount> [reason]',
    summary: 'move money from a member back to the master balance',
    shownTo: managers,
  },
  delete: {
    usage: '/team delete <member>',
    summary: 'close a member after you confirm; the balance returns to master',
    shownTo: managers,
  },
  autorecharge: {
    usage: '/team autorecharge <member> <threshold> <amount> [daily cap] | /team autorecharge <member> off',
    summary: 'top a member up from master when the balance runs low',
    shownTo: managers,
  },
  role: {
    usage: '/team role <member> <owner|admin|user>',
    summary: 'ask for a role change; an owner or admin approves it',
    shownTo: managers,
  },
  link: {
    usage: '/team link <member> <@slack user>',
    summary: 'connect a Slack user to a member',
    shownTo: managers,
  },
  stats: {
    usage: '/team stats [member] [today|7d|30d|month]',
    summary: 'messages, parts and cost by period',
    shownTo: everyone,
  },
  logs: {
    usage: '/team logs <member> [status] [YYYY-MM-DD] [YYYY-MM-DD]',
    summary: 'the message log, filtered',
    shownTo: everyone,
  },
  key: {
    usage: '/team key <member>',
    summary: 'rotate an API key (the new key is shown once)',
    shownTo: everyone,
  },
  alerts: {
    usage: '/team alerts <#channel> [level]',
    summary: 'where low-balance alerts go, and below which balance (default 1.00)',
    shownTo: managers,
  },
  digest: {
    usage: '/team digest <#channel> daily|weekly|off [HH:MM] [timezone]',
    summary: 'post a statistics digest to a channel',
    shownTo: managers,
  },
};

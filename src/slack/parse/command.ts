import { DIGEST_SETTINGS, type DigestSetting } from '../../digests/digest.service.ts';
import { INVITABLE_ROLES, type InvitableRole } from '../../invitations/invitation.service.ts';
import { MEMBER_STATUSES, type MemberStatus, ROLES, type Role } from '../../members/member.entity.ts';
import { MESSAGE_STATUSES, type MessageStatus } from '../../messaging/message.entity.ts';
import { PERIODS as STATS_PERIODS, type Period as StatsPeriod } from '../../stats/stats.service.ts';
import { isSubcommand, type Subcommand } from './grammar.ts';
import {
  emailOf,
  isAmountWord,
  type MemberRef,
  parseAmountWord,
  parseChannel,
  parseMemberRef,
  parseSlackUser,
  quote,
  slackUserOf,
  UsageError,
} from './references.ts';
import { tokenize } from './tokenize.ts';

export type TeamCommand =
  | { name: 'menu' }
  | { name: 'help' }
  | { name: 'setup'; teamName: string; currency?: string }
  | { name: 'balance' }
  | { name: 'list'; status?: MemberStatus }
  | { name: 'show'; member: MemberRef }
  | { name: 'create'; memberName: string; email?: string }
  | { name: 'invite'; invitee: { email: string } | { slackUserId: string }; role: InvitableRole }
  | { name: 'invitations' }
  | { name: 'revoke'; invitation: { id: number } | { email: string } }
  | { name: 'enable' | 'disable' | 'delete' | 'key'; member: MemberRef }
  | { name: 'credit' | 'debit'; member: MemberRef; amount: string; reason?: string }
  | {
      name: 'autorecharge';
      member: MemberRef;
      rule: { threshold: string; amount: string; dailyCap?: string } | 'off';
    }
  | { name: 'role'; member: MemberRef; role: Role }
  | { name: 'link'; member: MemberRef; slackUserId: string }
  | { name: 'stats'; member?: MemberRef; period?: StatsPeriod }
  | { name: 'logs'; member: MemberRef; status?: MessageStatus; from?: string; to?: string }
  | { name: 'alerts'; channel: string; level?: string }
  | {
      name: 'digest';
      channel?: string;
      frequency: DigestSetting;
      time?: string;
      timezone?: string;
    };

export type ParseResult =
  | { ok: true; command: TeamCommand }
  /** `subcommand` is known when the words after it were at fault, so the usage line can be shown. */
  | { ok: false; subcommand: Subcommand | undefined; message: string };

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
    return { ok: true, command: PARSERS[word](new Words(word, args)) };
  } catch (error) {
    if (error instanceof UsageError) return { ok: false, subcommand: word, message: error.message };
    return { ok: false, subcommand: word, message: 'The command could not be read.' };
  }
}

/** The arguments of one subcommand, consumed from the left. */
class Words {
  readonly subcommand: Subcommand;
  private readonly words: string[];
  constructor(subcommand: Subcommand, words: string[]) {
    this.subcommand = subcommand;
    this.words = [...words];
  }
  get remaining(): number {
    return this.words.length;
  }
  peek(): string | undefined {
    return this.words[0];
  }
  last(): string | undefined {
    return this.words.at(-1);
  }
  popLast(): string {
    return this.words.pop()!;
  }
  take(what: string): string {
    const word = this.words.shift();
    if (word === undefined) throw new UsageError(`${what} is missing.`);
    return word;
  }
  takeOptional(): string | undefined {
    return this.words.shift();
  }
  rest(): string[] {
    return this.words.splice(0);
  }
  end(): void {
    if (this.words.length > 0)
      throw new UsageError(`${quote(this.words.join(' '))} was not expected after /team ${this.subcommand}.`);
  }
}

function oneOf<T extends string>(word: string, allowed: readonly T[], what: string): T {
  const lower = word.toLowerCase();
  if ((allowed as readonly string[]).includes(lower)) return lower as T;
  throw new UsageError(`${what} must be ${allowed.join(', ')}, not ${quote(word)}.`);
}

function noArguments<N extends 'help' | 'balance' | 'invitations'>(name: N) {
  return (words: Words) => {
    words.end();
    return { name };
  };
}

function memberOnly<N extends 'show' | 'enable' | 'disable' | 'delete' | 'key'>(name: N) {
  return (words: Words) => {
    const member = parseMemberRef(words.take('The member'));
    words.end();
    return { name, member };
  };
}

function money<N extends 'credit' | 'debit'>(name: N) {
  return (words: Words) => {
    const member = parseMemberRef(words.take('The member'));
    const amount = parseAmountWord(words.take('The amount'), 'amount');
    const reason = words.rest().join(' ');
    return reason === '' ? { name, member, amount } : { name, member, amount, reason };
  };
}

const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^([01]?\d|2[0-3]):([0-5]\d)$/;

function parseDate(word: string): string {
  const match = DATE.exec(word);
  const date = match ? new Date(`${word}T00:00:00Z`) : undefined;
  if (!date || Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== word)
    throw new UsageError(`${quote(word)} is not a date: write it as YYYY-MM-DD.`);
  return word;
}

function isTimezone(word: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: word });
    return true;
  } catch {
    return false;
  }
}

const PARSERS: Record<Subcommand, (words: Words) => TeamCommand> = {
  help: noArguments('help'),
  balance: noArguments('balance'),
  invitations: noArguments('invitations'),
  show: memberOnly('show'),
  enable: memberOnly('enable'),
  disable: memberOnly('disable'),
  delete: memberOnly('delete'),
  key: memberOnly('key'),
  credit: money('credit'),
  debit: money('debit'),

  setup(words) {
    if (words.remaining === 0) throw new UsageError('The team name is missing.');
    const last = words.last()!;
    // The currency is optional, so a last word is only taken as one when it is an ISO code in capitals.
    const currency =
      words.remaining > 1 && /^[A-Z]{3}$/.test(last) && CURRENCIES.has(last) ? words.popLast() : undefined;
    const teamName = words.rest().join(' ');
    return currency ? { name: 'setup', teamName, currency } : { name: 'setup', teamName };
  },

  list(words) {
    const status = words.takeOptional();
    words.end();
    return status === undefined
      ? { name: 'list' }
      : { name: 'list', status: oneOf(status, MEMBER_STATUSES, 'The status') };
  },

  create(words) {
    if (words.remaining === 0) throw new UsageError('The member name is missing.');
    const last = words.last()!;
    const email = emailOf(last);
    if (email) words.popLast();
    const memberName = words.rest().join(' ');
    if (memberName === '') throw new UsageError('The member name is missing (it comes before the email).');
    return email ? { name: 'create', memberName, email } : { name: 'create', memberName };
  },

  invite(words) {
    const who = words.take('The email or @user to invite');
    const email = emailOf(who);
    const slackUserId = email ? undefined : slackUserOf(who);
    if (!email && !slackUserId) throw new UsageError(`${quote(who)} is not an email or a Slack mention.`);
    const roleWord = words.takeOptional();
    words.end();
    const role = roleWord === undefined ? 'user' : oneOf(roleWord, INVITABLE_ROLES, 'The role');
    return { name: 'invite', invitee: email ? { email } : { slackUserId: slackUserId! }, role };
  },

  revoke(words) {
    const which = words.take('The invitation id or email');
    words.end();
    const email = emailOf(which);
    if (email) return { name: 'revoke', invitation: { email } };
    const id = /^#?(\d{1,15})$/.exec(which);
    if (id && Number(id[1]) > 0) return { name: 'revoke', invitation: { id: Number(id[1]) } };
    throw new UsageError(`${quote(which)} is not an invitation id or an email.`);
  },

  autorecharge(words) {
    const member = parseMemberRef(words.take('The member'));
    const first = words.take('The threshold (or "off")');
    if (first.toLowerCase() === 'off') {
      words.end();
      return { name: 'autorecharge', member, rule: 'off' };
    }
    const threshold = parseAmountWord(first, 'threshold', { allowZero: true });
    const amount = parseAmountWord(words.take('The recharge amount'), 'amount');
    const capWord = words.takeOptional();
    words.end();
    const dailyCap = capWord === undefined ? undefined : parseAmountWord(capWord, 'daily cap');
    return {
      name: 'autorecharge',
      member,
      rule: dailyCap === undefined ? { threshold, amount } : { threshold, amount, dailyCap },
    };
  },

  role(words) {
    const member = parseMemberRef(words.take('The member'));
    const role = oneOf(words.take('The role'), ROLES, 'The role');
    words.end();
    return { name: 'role', member, role };
  },

  link(words) {
    const member = parseMemberRef(words.take('The member'));
    const slackUserId = parseSlackUser(words.take('The @slack user'));
    words.end();
    return { name: 'link', member, slackUserId };
  },

  stats(words) {
    let member: MemberRef | undefined;
    let period: StatsPeriod | undefined;
    for (const word of words.rest()) {
      const lower = word.toLowerCase();
      if (period === undefined && (STATS_PERIODS as readonly string[]).includes(lower))
        period = lower as StatsPeriod;
      else if (member === undefined && period === undefined) member = parseMemberRef(word);
      else throw new UsageError(`${quote(word)} was not expected: give a member, then a period.`);
    }
    return { name: 'stats', ...(member && { member }), ...(period && { period }) };
  },

  logs(words) {
    const member = parseMemberRef(words.take('The member'));
    let status: MessageStatus | undefined;
    const dates: string[] = [];
    for (const word of words.rest()) {
      if (dates.length === 0 && status === undefined && /^[a-z_]+$/i.test(word))
        status = oneOf(word, MESSAGE_STATUSES, 'The status');
      else if (dates.length < 2) dates.push(parseDate(word));
      else throw new UsageError(`${quote(word)} was not expected: at most two dates.`);
    }
    const [from, to] = dates;
    if (from && to && from > to)
      throw new UsageError(`The first date (${from}) is after the second (${to}).`);
    return { name: 'logs', member, ...(status && { status }), ...(from && { from }), ...(to && { to }) };
  },

  alerts(words) {
    const channel = parseChannel(words.take('The #channel'));
    const levelWord = words.takeOptional();
    words.end();
    if (levelWord === undefined) return { name: 'alerts', channel };
    if (!isAmountWord(levelWord))
      throw new UsageError(`The level must be an amount like 1.00, not ${quote(levelWord)}.`);
    return { name: 'alerts', channel, level: parseAmountWord(levelWord, 'level', { allowZero: true }) };
  },

  digest(words) {
    const first = words.take('The #channel');
    if (first.toLowerCase() === 'off') {
      words.end();
      return { name: 'digest', frequency: 'off' };
    }
    const channel = parseChannel(first);
    const frequency = oneOf(words.take('How often (daily, weekly or off)'), DIGEST_SETTINGS, 'How often');
    if (frequency === 'off') {
      words.end();
      return { name: 'digest', channel, frequency };
    }
    let time: string | undefined;
    let timezone: string | undefined;
    for (const word of words.rest()) {
      const clock = TIME.exec(word);
      if (clock && time === undefined && timezone === undefined)
        time = `${clock[1]!.padStart(2, '0')}:${clock[2]}`;
      else if (timezone === undefined && isTimezone(word)) timezone = word;
      else if (timezone === undefined && /^[A-Za-z_]+\/[A-Za-z_/-]+$|^UTC$/.test(word))
        throw new UsageError(`${quote(word)} is not a time zone: use a name like Europe/Athens or UTC.`);
      else throw new UsageError(`${quote(word)} is not a time (HH:MM) or a time zone like Europe/Athens.`);
    }
    return { name: 'digest', channel, frequency, ...(time && { time }), ...(timezone && { timezone }) };
  },
};

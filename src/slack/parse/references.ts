import type { MemberRef } from '../../members/lookups.ts';
import { parseAmount } from '../../shared/money.ts';

export type { MemberRef };

/** A word the caller typed that cannot mean what its position in the command asks for. */
export class UsageError extends Error {
  override name = 'UsageError';
}

const USER_MENTION = /^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$/;
const CHANNEL_MENTION = /^<#([CG][A-Z0-9]{2,})(?:\|[^>]*)?>$/;
const BARE_USER_ID = /^[UW][A-Z0-9]{6,}$/;
const BARE_CHANNEL_ID = /^[CG][A-Z0-9]{6,}$/;
const MAILTO = /^<mailto:([^|>]+)(?:\|[^>]*)?>$/i;
// Deliberately loose: the address is checked by the service and, in the end, by delivering to it.
const EMAIL = /^[^\s@<>"|]+@[^\s@<>"|]+\.[^\s@<>"|.]+$/;
const MEMBER_ID = /^#?(\d{1,15})$/;

export function quote(word: string): string {
  const shown = word.length > 40 ? `${word.slice(0, 40)}…` : word;
  return `"${shown}"`;
}

/** An email written plainly or as Slack's auto-link `<mailto:a@b.c|a@b.c>`; undefined if the word is not one. */
export function emailOf(word: string): string | undefined {
  const linked = MAILTO.exec(word);
  const candidate = linked ? linked[1]!.trim() : word;
  return EMAIL.test(candidate) ? candidate.toLowerCase() : undefined;
}

/** A Slack user from an escaped mention `<@U123|ann>` or a bare user id; undefined otherwise. */
export function slackUserOf(word: string): string | undefined {
  const mention = USER_MENTION.exec(word);
  if (mention) return mention[1]!;
  return BARE_USER_ID.test(word) ? word : undefined;
}

export function parseMemberRef(word: string): MemberRef {
  const slackUserId = slackUserOf(word);
  if (slackUserId) return { slackUserId };
  const email = emailOf(word);
  if (email) return { email };
  const id = MEMBER_ID.exec(word);
  if (id) {
    const value = Number(id[1]);
    if (value > 0 && Number.isSafeInteger(value)) return { id: value };
  }
  if (word.startsWith('@'))
    throw new UsageError(
      `${quote(word)} is plain text, not a mention: pick the person from the @ list so Slack links them, or use their email or member id`,
    );
  if (word.startsWith('<#'))
    throw new UsageError(`${quote(word)} is a channel; name a member by mention, email or member id`);
  throw new UsageError(
    `${quote(word)} does not name a member: names can be ambiguous, so use a mention (@name), an email or a member id`,
  );
}

export function parseSlackUser(word: string): string {
  const id = slackUserOf(word);
  if (!id) throw new UsageError(`${quote(word)} is not a Slack user: mention them with @`);
  return id;
}

/** A channel from an escaped mention `<#C123|general>` or a bare channel id. */
export function parseChannel(word: string): string {
  const mention = CHANNEL_MENTION.exec(word);
  if (mention) return mention[1]!;
  if (BARE_CHANNEL_ID.test(word)) return word;
  if (word.startsWith('#'))
    throw new UsageError(
      `${quote(word)} is plain text, not a channel link: pick the channel from the # list so Slack links it`,
    );
  throw new UsageError(`${quote(word)} is not a channel: name it as #channel`);
}

/**
 * Checks that a word is an amount a service will accept and returns it as written; the
 * services parse the text again, so the number a person typed is the number that is used.
 */
export function parseAmountWord(word: string, field: string, options: { allowZero?: boolean } = {}): string {
  try {
    parseAmount(word, field, options);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  return word.replace(/^\+/, '');
}

export function isAmountWord(word: string): boolean {
  return /^\+?(\d+(\.\d*)?|\.\d+)$/.test(word);
}

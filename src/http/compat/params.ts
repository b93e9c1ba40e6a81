import type { RequestHandler } from 'express';
import type { MemberView } from '../../members/views.ts';
import { optional } from '../api/request.ts';

/**
 * A number in the query string: absent means the caller's default; anything else is handed to
 * the service as a number, so "abc" becomes a field error there instead of a silent default.
 */
export function numberQuery(value: unknown, field: string): number | undefined {
  const text = optional(value, field);
  return text === undefined ? undefined : Number(text);
}

/** A numeric id in a path, or null when the segment is not one. */
export function numericId(value: unknown): number | null {
  return typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : null;
}

/** Answers about balances and sub-accounts are never for caches to replay. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};

/** The `user:password` of an HTTP Basic Authorization header, or null when there is none. */
export function basicCredentials(header: string | undefined): { username: string; password: string } | null {
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!basic) return null;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Members a provider would call sub-accounts; invitees are not accounts yet and closed ones are gone. */
export const SUBACCOUNT_STATUSES = ['active', 'inactive'] as const;

/** A sub-account of a primary account, as Textmagic and Vonage see it: not the owner, not an invitee, not closed. */
export function isSubaccount(member: MemberView): boolean {
  return member.role !== 'owner' && (SUBACCOUNT_STATUSES as readonly string[]).includes(member.status);
}

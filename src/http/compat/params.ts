import type { RequestHandler } from 'express';
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

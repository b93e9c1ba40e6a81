import { z } from 'zod';
import { ValidationError } from './errors.ts';
import { requireValidName, requireValidText } from './text.ts';

const emailSchema = z.email();
const currencies = new Set(Intl.supportedValuesOf('currency'));

/** A trimmed, non-empty name of at most `max` characters. */
export function requireName(value: unknown, field = 'name', max = 100): string {
  const text = typeof value === 'string' ? value.trim().replace(/\s+/g, ' ') : '';
  if (!text) throw new ValidationError(field, `${field} is required`);
  if (text.length > max) throw new ValidationError(field, `${field} must be at most ${max} characters`);
  return requireValidName(text, field);
}

export function requireEmail(value: unknown, field = 'email'): string {
  const text = typeof value === 'string' ? requireValidText(value.trim(), field) : '';
  if (!text) throw new ValidationError(field, `${field} is required`);
  if (text.length > 254 || !emailSchema.safeParse(text).success) {
    throw new ValidationError(field, `${field} "${text.slice(0, 60)}" is not a valid email address`);
  }
  return text.toLowerCase();
}

export function optionalEmail(value: unknown, field = 'email'): string | null {
  return value === undefined || value === null || value === '' ? null : requireEmail(value, field);
}

export function requireCurrency(value: unknown, field = 'currency'): string {
  const code = typeof value === 'string' ? value.trim().toUpperCase() : '';
  if (!/^[A-Z]{3}$/.test(code) || !currencies.has(code)) {
    throw new ValidationError(
      field,
      `${field} must be an ISO 4217 code such as EUR or USD, not "${String(value)}"`,
    );
  }
  return code;
}

/** An optional free-text reason or note, trimmed; empty means none. */
export function optionalText(value: unknown, field: string, max = 500): string | null {
  if (value === undefined || value === null) return null;
  const text = requireValidText(String(value).trim(), field);
  if (!text) return null;
  if (text.length > max) throw new ValidationError(field, `${field} must be at most ${max} characters`);
  return text;
}

export function requireId(value: unknown, field = 'id'): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n <= 0 || n > 2_147_483_647) {
    throw new ValidationError(field, `${field} must be a positive whole number`);
  }
  return n;
}

/**
 * A page number or page size, clamped to [min, max]; absent means `fallback`. Out-of-range
 * values are clamped because a person asking for page 0 or 1,000 rows means "the first" or "the
 * most"; only something that is not a number at all is refused.
 */
export function pagingNumber(
  value: unknown,
  field: string,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ValidationError(field, `${field} must be a whole number`);
  }
  return Math.min(max, Math.max(min, Math.trunc(value)));
}

/**
 * An IANA time zone such as Europe/Athens, checked with Intl; the canonical spelling is stored.
 * The error names the zone that is not one.
 */
export function requireTimezone(value: unknown, field = 'timezone'): string {
  const text = typeof value === 'string' ? value.trim() : '';
  if (text === '')
    throw new ValidationError(field, `${field} is required: an IANA time zone like Europe/Athens`);
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: text }).resolvedOptions().timeZone;
  } catch {
    throw new ValidationError(
      field,
      `"${text.slice(0, 40)}" is not a time zone: ${field} must be an IANA time zone like Europe/Athens or America/New_York`,
    );
  }
}

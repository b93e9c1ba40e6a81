import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { ValidationError } from '../shared/errors.ts';

/**
 * Turns a recipient such as "+49 170 1234567" into E.164 ("+491701234567"), refusing anything
 * that is not a complete, valid number for its country (the full metadata checks the number
 * ranges, not just the length). The country code is required: there is no default country.
 */
export function toE164(input: unknown, field = 'to'): string {
  if (typeof input !== 'string' || input.trim() === '')
    throw new ValidationError(field, `${field} must be a phone number in E.164 format, like +491701234567`);
  const text = input.trim();
  if (!text.startsWith('+') || !/^\+[\d\s().-]+$/.test(text))
    throw new ValidationError(
      field,
      `${field} "${shorten(text)}" is not in E.164 format: start with + and the country code, like +491701234567`,
    );
  const parsed = parsePhoneNumberFromString(text);
  if (!parsed?.isValid())
    throw new ValidationError(field, `${field} "${shorten(text)}" is not a valid phone number`);
  return parsed.number;
}

/** The digits of an E.164 number, which is what price prefixes are matched against. */
export function e164Digits(e164: string): string {
  return e164.replace(/^\+/, '');
}

function shorten(text: string): string {
  return text.length > 24 ? `${text.slice(0, 24)}…` : text;
}

import { ValidationError } from './errors.ts';

/** Money is integer micro-units: 1 unit of currency = 1,000,000 micro-units. */
export const MICROS_PER_UNIT = 1_000_000n;
export type Micros = bigint;

const DECIMAL = /^(\d+)(?:\.(\d{1,6}))?$/;
/** The largest amount a command or API call may name: bigint columns hold far more, but no one means this. */
const MAX_AMOUNT = 1_000_000_000_000n * MICROS_PER_UNIT;

/**
 * Parses a decimal amount such as "50", "12.5" or 0.075 into micro-units, refusing anything a
 * person would not mean as money: not a number, negative or zero, more than 6 decimals.
 */
export function parseAmount(input: unknown, field = 'amount', { allowZero = false } = {}): Micros {
  let text: string;
  if (typeof input === 'number') {
    if (!Number.isFinite(input)) throw new ValidationError(field, `${field} must be a number`);
    // Shortest round-trip representation: 12.5 -> "12.5", never "12.4999999".
    text = String(input);
    if (/e/i.test(text))
      throw new ValidationError(field, `${field} has more than 6 decimals or is too large`);
  } else if (typeof input === 'string') {
    text = input.trim();
  } else if (typeof input === 'bigint') {
    text = input.toString();
  } else {
    throw new ValidationError(field, `${field} is required`);
  }
  if (text === '') throw new ValidationError(field, `${field} is required`);
  if (text.startsWith('-')) throw new ValidationError(field, `${field} must be greater than 0`);
  if (text.startsWith('.')) text = `0${text}`;
  const match = DECIMAL.exec(text.replace(/^\+/, ''));
  if (!match) {
    if (/^\d+\.\d{7,}$/.test(text)) throw new ValidationError(field, `${field} has more than 6 decimals`);
    throw new ValidationError(
      field,
      `${field} must be a decimal number like 50 or 12.5, not "${truncate(text)}"`,
    );
  }
  const micros = BigInt(match[1]!) * MICROS_PER_UNIT + BigInt((match[2] ?? '').padEnd(6, '0'));
  if (micros === 0n && !allowZero) throw new ValidationError(field, `${field} must be greater than 0`);
  if (micros > MAX_AMOUNT) throw new ValidationError(field, `${field} is too large`);
  return micros;
}

/** "12.500000" style exact decimal, trailing zeros kept to at least two decimals: 12500000n -> "12.50". */
export function microsToDecimal(micros: Micros, minDecimals = 2): string {
  const negative = micros < 0n;
  const abs = negative ? -micros : micros;
  const whole = abs / MICROS_PER_UNIT;
  let fraction = (abs % MICROS_PER_UNIT).toString().padStart(6, '0').replace(/0+$/, '');
  if (fraction.length < minDecimals) fraction = fraction.padEnd(minDecimals, '0');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/**
 * `microsToDecimal` of micro-units given as their decimal digits (PostgreSQL's text of a bigint),
 * with string work only: statements format millions of amounts, and BigInt arithmetic was most of
 * their cost. `decimalFromMicrosText("12500000")` is "12.50", like `microsToDecimal(12500000n)`.
 */
export function decimalFromMicrosText(micros: string, minDecimals = 2): string {
  const negative = micros.startsWith('-');
  const digits = (negative ? micros.slice(1) : micros).padStart(7, '0');
  const whole = digits.slice(0, -6).replace(/^0+(?=\d)/, '');
  let end = digits.length;
  while (end > digits.length - 6 && digits.charCodeAt(end - 1) === 48) end--;
  let fraction = digits.slice(digits.length - 6, end);
  if (fraction.length < minDecimals) fraction = fraction.padEnd(minDecimals, '0');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** A number for JSON APIs that promise one (Textmagic's balance); exact up to 2^53 micro-units. */
export function microsToNumber(micros: Micros): number {
  return Number(microsToDecimal(micros, 0));
}

const formatters = new Map<string, Intl.NumberFormat>();

/** "€12.50", "$0.075": the team's currency, exact, without float noise. */
export function formatMoney(micros: Micros, currency: string): string {
  let formatter = formatters.get(currency);
  if (!formatter) {
    formatter = new Intl.NumberFormat('en-US', {
      style: 'currency',
      currency,
      minimumFractionDigits: 2,
      maximumFractionDigits: 6,
    });
    formatters.set(currency, formatter);
  }
  // Intl formats decimal strings exactly; a Number would round large or fine amounts.
  return formatter.format(microsToDecimal(micros) as unknown as number);
}

function truncate(text: string): string {
  return text.length > 24 ? `${text.slice(0, 24)}…` : text;
}

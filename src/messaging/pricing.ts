import type { EntityManager } from '@mikro-orm/postgresql';
import { queryAll } from '../platform/sql.ts';
import { ValidationError } from '../shared/errors.ts';
import type { Micros } from '../shared/money.ts';
import { e164Digits } from './phone.ts';

/** The empty prefix stands for "every other destination": the team's default price. */
export const DEFAULT_PREFIX = '';

export interface PriceEntry {
  /** Digits of E.164 without "+", or DEFAULT_PREFIX. */
  prefix: string;
  price: Micros;
}

export interface PriceMatch {
  price: Micros;
  /** The prefix that matched; DEFAULT_PREFIX for the team's default, null for the product default. */
  prefix: string | null;
}

/** One team's price list: the longest prefix of the destination wins, then the defaults. */
export class PriceList {
  readonly #byPrefix: ReadonlyMap<string, Micros>;
  readonly #productDefault: Micros;

  constructor(entries: Iterable<PriceEntry>, productDefault: Micros) {
    this.#byPrefix = new Map([...entries].map((e) => [e.prefix, e.price]));
    this.#productDefault = productDefault;
  }

  priceFor(e164: string): PriceMatch {
    const digits = e164Digits(e164);
    for (let length = digits.length; length >= 0; length -= 1) {
      const prefix = digits.slice(0, length);
      const price = this.#byPrefix.get(prefix);
      if (price !== undefined) return { price, prefix };
    }
    return { price: this.#productDefault, prefix: null };
  }
}

export async function loadPriceEntries(em: EntityManager, teamId: number): Promise<PriceEntry[]> {
  const rows = await queryAll<{ prefix: string; price: string }>(
    em,
    'select prefix, price from message_prices where team_id = ? order by prefix',
    [teamId],
  );
  return rows.map((r) => ({ prefix: r.prefix, price: BigInt(r.price) }));
}

/** "49", "+49", "default" → "49", "49", "" — what an operator types for a destination prefix. */
export function parsePrefix(input: unknown, field = 'prefix'): string {
  const text = typeof input === 'string' ? input.trim() : typeof input === 'number' ? String(input) : '';
  if (/^(default|\*)$/i.test(text)) return DEFAULT_PREFIX;
  const digits = text.replace(/^\+/, '');
  if (!/^\d{1,15}$/.test(digits)) {
    throw new ValidationError(
      field,
      `${field} must be the first digits of the international number (like 49 or 4917), or "default"`,
    );
  }
  return digits;
}

/**
 * `PriceList.priceFor` in SQL, for a statement that prices what it charges: the team's price
 * with the longest prefix of `digits` (the empty default prefix matches everything), or null
 * where the team has none (the product default applies).
 */
export function priceForSql(teamId: string, digits: string): string {
  return `(select p.price from message_prices p
            where p.team_id = ${teamId} and starts_with(${digits}, p.prefix)
            order by length(p.prefix) desc limit 1)`;
}

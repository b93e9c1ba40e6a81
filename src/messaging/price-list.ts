import type { EntityManager } from '@mikro-orm/postgresql';
import { callerTeam, loadCaller } from '../members/access.ts';
import type { Orm } from '../platform/database.ts';
import { queryOne } from '../platform/sql.ts';
import type { Actor } from '../shared/actor.ts';
import { ForbiddenError, NotFoundError } from '../shared/errors.ts';
import { type Micros, parseAmount } from '../shared/money.ts';
import { DEFAULT_PREFIX, loadPriceEntries, type PriceEntry, parsePrefix } from './pricing.ts';

export interface PriceListView {
  teamId: number;
  currency: string;
  /** The team's own default; null when the product default applies. */
  defaultPrice: Micros | null;
  productDefaultPrice: Micros;
  prices: PriceEntry[];
}

/** Prices per part by number prefix: the operator sets them, every member can read its team's. */
export class PriceList {
  readonly #orm: Orm;
  readonly #productDefaultPrice: Micros;

  constructor(orm: Orm, productDefaultPrice: Micros) {
    this.#orm = orm;
    this.#productDefaultPrice = productDefaultPrice;
  }

  /** Sets the price per part for numbers starting with `prefix` ("default" for all others). Operator only. */
  async set(
    actor: Actor,
    input: { teamId: number; prefix: unknown; price: unknown },
  ): Promise<{ prefix: string; price: Micros; previous: Micros | null }> {
    if (actor.kind === 'member') throw new ForbiddenError('Prices are set by the operator');
    const prefix = parsePrefix(input.prefix);
    const price = parseAmount(input.price, 'price');
    const em = this.#orm.em.fork();
    await teamCurrency(em, input.teamId);
    const row = await queryOne<{ previous: string | null }>(
      em,
      `with before as (select price from message_prices where team_id = ? and prefix = ?)
       insert into message_prices as p (team_id, prefix, price, created_at, updated_at)
       values (?, ?, ?, now(), now())
       on conflict (team_id, prefix) do update set price = excluded.price, updated_at = now()
       returning (select price from before)::text as previous`,
      [input.teamId, prefix, input.teamId, prefix, price],
    );
    return { prefix, price, previous: row?.previous ? BigInt(row.previous) : null };
  }

  /** The team's price list: the operator names a team, members see their own team's. */
  async list(actor: Actor, input: { teamId?: number } = {}): Promise<PriceListView> {
    const em = this.#orm.em.fork();
    const caller = await loadCaller(em, actor);
    const teamId = callerTeam(caller, input.teamId);
    const currency = await teamCurrency(em, teamId);
    const entries = await loadPriceEntries(em, teamId);
    return {
      teamId,
      currency,
      defaultPrice: entries.find((e) => e.prefix === DEFAULT_PREFIX)?.price ?? null,
      productDefaultPrice: this.#productDefaultPrice,
      prices: entries.filter((e) => e.prefix !== DEFAULT_PREFIX),
    };
  }
}

export async function teamCurrency(em: EntityManager, teamId: number): Promise<string> {
  const team = await queryOne<{ currency: string }>(em, 'select currency from teams where id = ?', [teamId]);
  if (!team) throw new NotFoundError(`There is no team #${teamId}`);
  return team.currency;
}

import type { SmsConfig } from '../config.ts';
import { retryingIdempotencyRace } from '../ledger/postings.ts';
import type { Logger } from '../logger.ts';
import type { Orm } from '../platform/database.ts';
import { retryingDeadlocks } from '../platform/transactions.ts';
import type { Actor } from '../shared/actor.ts';
import { ForbiddenError } from '../shared/errors.ts';
import { type Micros, parseAmount } from '../shared/money.ts';
import { type Settled, WriteCombiner } from '../shared/write-combiner.ts';
import { type ChargeRequest, chargeBatch, chargeTogether } from './charging.ts';
import { MessageDelivery } from './delivery.ts';
import { type LogFilters, MessageLog } from './message-log.ts';
import { PriceList, type PriceListView } from './price-list.ts';
import { createProvider } from './providers/index.ts';
import type { SmsProvider } from './providers/provider.ts';
import { parseSendInput, type SendInput } from './send-request.ts';
import type { MessagePage, MessageView, SendResult } from './views.ts';

export type { DispatchSummary } from './delivery.ts';
export type { LogFilters } from './message-log.ts';
export type { PriceListView } from './price-list.ts';

export interface MessagingSettings {
  provider: SmsProvider;
  /** Price per part where a team has set neither a matching prefix nor a default. */
  defaultPrice: Micros;
}

/** Charged batches hold at most this many messages, which bounds one transaction's size. */
const MAX_MESSAGES_PER_CHARGE = 1000;

/**
 * Messaging, one service for the transports and workers: sending is here; the log, the price
 * list and delivery each live in their own file and are reached through these methods.
 */
export class MessagingService {
  readonly #orm: Orm;
  readonly #settings: MessagingSettings;
  readonly #logger: Logger;
  readonly #charges: WriteCombiner<number, ChargeRequest, SendResult>;
  readonly #log: MessageLog;
  readonly #prices: PriceList;
  readonly #delivery: MessageDelivery;

  constructor(orm: Orm, settings: MessagingSettings, logger: Logger) {
    this.#orm = orm;
    this.#settings = settings;
    this.#logger = logger.child({ component: 'messaging' });
    this.#log = new MessageLog(orm);
    this.#prices = new PriceList(orm, settings.defaultPrice);
    this.#delivery = new MessageDelivery(orm, settings, this.#logger);
    const chargeSettings = {
      provider: this.#settings.provider.name,
      productDefaultPrice: this.#settings.defaultPrice,
    };
    const charge = async (memberId: number, batch: ChargeRequest[]): Promise<Settled<SendResult>[]> => {
      // A request alone, or requests without keys, are one statement; when that charges nothing,
      // the batch path charges what the balance covers one by one, replays, or says why.
      const together = await retryingDeadlocks(() => chargeTogether(this.#orm, batch, chargeSettings));
      return together ?? chargeBatch(this.#orm.em.fork(), memberId, batch, chargeSettings);
    };
    this.#charges = new WriteCombiner(
      (memberId, batch) => retryingIdempotencyRace(() => charge(memberId, batch)),
      { maxWeight: MAX_MESSAGES_PER_CHARGE, weight: (r) => r.recipients.length },
    );
  }

  /**
   * Sends one text to one or many recipients from the caller's own sub-account: all of them are
   * charged, or none (InsufficientFundsError) when the balance does not cover them all. Concurrent
   * sends of one member are charged together in one transaction (see WriteCombiner).
   */
  async send(actor: Actor, input: SendInput): Promise<SendResult> {
    if (actor.kind !== 'member')
      throw new ForbiddenError('Messages are sent by a member, with its own API key');
    const request = parseSendInput(input);
    return this.#charges.submit(actor.memberId, { ...request, memberId: actor.memberId, via: actor.via });
  }

  /** The message log, newest first: managers see the whole team, a user only its own messages. */
  searchLog(actor: Actor, filters: LogFilters = {}): Promise<MessagePage> {
    return this.#log.search(actor, filters);
  }

  /** The messages `searchLog` would find, oldest first, streamed from a database cursor. */
  statement(...args: Parameters<MessageLog['statement']>): ReturnType<MessageLog['statement']> {
    return this.#log.statement(...args);
  }

  getMessage(actor: Actor, id: string): Promise<MessageView> {
    return this.#log.get(actor, id);
  }

  setPrice(actor: Actor, input: Parameters<PriceList['set']>[1]): ReturnType<PriceList['set']> {
    return this.#prices.set(actor, input);
  }

  listPrices(actor: Actor, input: { teamId?: number } = {}): Promise<PriceListView> {
    return this.#prices.list(actor, input);
  }

  dispatch(...args: Parameters<MessageDelivery['dispatch']>): ReturnType<MessageDelivery['dispatch']> {
    return this.#delivery.dispatch(...args);
  }

  checkStatus(
    ...args: Parameters<MessageDelivery['checkStatus']>
  ): ReturnType<MessageDelivery['checkStatus']> {
    return this.#delivery.checkStatus(...args);
  }

  recordProviderReport(
    ...args: Parameters<MessageDelivery['recordProviderReport']>
  ): ReturnType<MessageDelivery['recordProviderReport']> {
    return this.#delivery.recordProviderReport(...args);
  }
}

/** The service's settings from the process configuration: which provider, and the product's default price. */
export function messagingSettings(sms: SmsConfig, logger: Logger): MessagingSettings {
  return {
    provider: createProvider(sms, logger),
    defaultPrice: parseAmount(sms.defaultPrice, 'SMS_DEFAULT_PRICE'),
  };
}

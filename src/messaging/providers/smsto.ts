import type { Logger } from '../../logger.ts';
import { ValidationError } from '../../shared/errors.ts';
import {
  type DeliveryReport,
  type OutgoingSms,
  ProviderUnavailableError,
  type SendOutcome,
  type SmsProvider,
  type StatusQuery,
} from './provider.ts';

export interface SmstoOptions {
  /** https://api.sms.to in production; a local fake in tests. */
  apiUrl: string;
  apiKey: string;
  /** Where SMS.to should POST delivery reports (`callback_url`); none: status polling only. */
  callbackUrl?: string | undefined;
  timeoutMs?: number;
}

/** The provider name stored on the messages SMS.to sent. */
export const SMSTO_PROVIDER_NAME = 'smsto';

/** SMS.to's final statuses; anything else (queued, en route, sent…) means "ask again later". */
const DELIVERED = new Set(['DELIVERED']);
const FAILED = new Set(['FAILED', 'REJECTED', 'UNDELIVERED', 'EXPIRED', 'UNDELIVERABLE', 'ERROR']);

/**
 * What an SMS.to status means here: the one mapping, used by status polling and by the
 * delivery-report callback alike.
 */
export function smstoDeliveryReport(status: string): DeliveryReport {
  const reported = status.trim().toUpperCase();
  if (DELIVERED.has(reported)) return { status: 'delivered' };
  if (FAILED.has(reported)) return { status: 'failed', error: `SMS.to reported ${reported}` };
  return { status: 'sent' };
}

/** SMS.to's message ids are UUIDs; the column holds up to 100 characters. */
const MAX_MESSAGE_ID_LENGTH = 100;
const MAX_STATUS_LENGTH = 40;

/**
 * Reads a delivery report SMS.to POSTs to the `callback_url` (form-encoded, or JSON):
 * `{messageId, trackingId, phone, status, parts, price}`. Only `messageId` (the `message_id`
 * the send answered with) and `status` matter; throws a ValidationError naming a missing or
 * malformed field.
 */
export function parseSmstoCallback(body: unknown): { providerMessageId: string; report: DeliveryReport } {
  const fields = (body !== null && typeof body === 'object' ? body : {}) as Record<string, unknown>;
  const messageId = fields.messageId;
  if (typeof messageId !== 'string' || messageId.trim() === '')
    throw new ValidationError('messageId', 'messageId is required: the message_id SMS.to gave when sending');
  if (messageId.length > MAX_MESSAGE_ID_LENGTH)
    throw new ValidationError('messageId', `messageId must be at most ${MAX_MESSAGE_ID_LENGTH} characters`);
  const status = fields.status;
  if (typeof status !== 'string' || status.trim() === '')
    throw new ValidationError('status', 'status is required, like DELIVERED or FAILED');
  if (status.length > MAX_STATUS_LENGTH)
    throw new ValidationError('status', `status must be at most ${MAX_STATUS_LENGTH} characters`);
  return { providerMessageId: messageId.trim(), report: smstoDeliveryReport(status) };
}

/**
 * SMS.to's HTTP API: `POST /sms/send` with a bearer API key hands a message over and answers
 * with its `message_id`; `GET /message/{id}` tells how far it got. With a `callbackUrl`, SMS.to
 * also pushes each status change there (see parseSmstoCallback); polling stays as the fallback.
 */
export class SmstoProvider implements SmsProvider {
  readonly name = SMSTO_PROVIDER_NAME;
  readonly maxStatusChecks = 12;
  readonly #baseUrl: string;
  readonly #apiKey: string;
  readonly #callbackUrl: string | undefined;
  readonly #timeoutMs: number;
  readonly #logger: Logger;

  constructor(options: SmstoOptions, logger: Logger) {
    this.#baseUrl = options.apiUrl.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#callbackUrl = options.callbackUrl;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#logger = logger;
  }

  async send(sms: OutgoingSms): Promise<SendOutcome> {
    const body: Record<string, string> = { to: sms.to, message: sms.text };
    if (sms.senderId) body.sender_id = sms.senderId;
    if (this.#callbackUrl) body.callback_url = this.#callbackUrl;
    const { status, json } = await this.#request('POST', '/sms/send', body);
    if (status >= 200 && status < 300 && json?.success !== false && typeof json?.message_id === 'string') {
      return { accepted: true, providerMessageId: json.message_id };
    }
    const reason = typeof json?.message === 'string' ? json.message : `HTTP ${status}`;
    // 400 and 422 are about this message (number, content, sender id); anything else is about
    // the account or the service and may pass on a later try.
    if (status === 400 || status === 422 || (status >= 200 && status < 300)) {
      return { accepted: false, error: `SMS.to refused the message: ${reason}`.slice(0, 500) };
    }
    this.#logger.warn({ messageId: sms.id, status, reason }, 'SMS.to did not accept the message; will retry');
    throw new ProviderUnavailableError(`SMS.to answered ${status}: ${reason}`);
  }

  async checkStatus(query: StatusQuery): Promise<DeliveryReport> {
    const { status, json } = await this.#request(
      'GET',
      `/message/${encodeURIComponent(query.providerMessageId)}`,
    );
    if (status < 200 || status >= 300) throw new ProviderUnavailableError(`SMS.to answered ${status}`);
    return smstoDeliveryReport(String(json?.status ?? json?.data?.status ?? ''));
  }

  /** 30 s, then doubling up to 30 min: reports usually arrive within seconds, some take hours. */
  statusCheckDelayMs(attempt: number): number {
    return Math.min(30_000 * 2 ** (attempt - 1), 30 * 60_000);
  }

  // biome-ignore lint/suspicious/noExplicitAny: SMS.to's JSON is checked field by field where it is read
  async #request(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    let response: Response;
    try {
      response = await fetch(`${this.#baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.#apiKey}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (error) {
      throw new ProviderUnavailableError(`SMS.to could not be reached: ${(error as Error).message}`);
    }
    const text = await response.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: response.status, json };
  }
}

/**
 * What the messaging service needs from an SMS gateway. Sending only hands the message over;
 * whether it reached the phone is learnt later by asking (`checkStatus`), which the service
 * schedules after `statusCheckDelayMs(attempt)`.
 */
export interface OutgoingSms {
  /** Our message id, for the provider's reference and logs. */
  id: string;
  /** E.164. */
  to: string;
  text: string;
  senderId: string | null;
}

export type SendOutcome =
  | { accepted: true; providerMessageId: string }
  /** Refused for good (bad number, blocked content): the message fails and is refunded. */
  | { accepted: false; error: string };

export type DeliveryReport =
  | { status: 'sent' }
  | { status: 'delivered' }
  | { status: 'failed'; error: string };

export interface StatusQuery {
  providerMessageId: string;
  to: string;
  sentAt: Date;
}

export interface SmsProvider {
  readonly name: string;
  /** Throws ProviderUnavailableError when the outcome is unknown or temporary: the job retries. */
  send(sms: OutgoingSms): Promise<SendOutcome>;
  checkStatus(query: StatusQuery): Promise<DeliveryReport>;
  /** How long to wait before the given (1-based) status check. */
  statusCheckDelayMs(attempt: number): number;
  /** After this many checks still saying "sent", stop asking. */
  readonly maxStatusChecks: number;
}

/** The provider could not be reached or answered with a temporary error; try again later. */
export class ProviderUnavailableError extends Error {
  override name = 'ProviderUnavailableError';
}

import type { DeliveryReport, OutgoingSms, SendOutcome, SmsProvider, StatusQuery } from './provider.ts';

/**
 * Numbers the sandbox always fails, so failures and refunds can be tried without a real
 * gateway: +1 500 555 0000 to +1 500 555 0099 (valid North American numbers in a range no one
 * texts). Everything else is reported delivered once the delivery delay has passed.
 */
export const SANDBOX_FAILING_RANGE = /^\+150055500\d\d$/;
export const SANDBOX_FAILURE = 'sandbox: this test number always fails';

/** Sends nothing: accepts every message and reports it delivered (or failed, for test numbers) after a delay. */
export class SandboxProvider implements SmsProvider {
  readonly name = 'sandbox';
  readonly maxStatusChecks = 5;
  readonly #deliveryDelayMs: number;

  constructor(deliveryDelayMs: number) {
    this.#deliveryDelayMs = deliveryDelayMs;
  }

  async send(sms: OutgoingSms): Promise<SendOutcome> {
    return { accepted: true, providerMessageId: `sandbox-${sms.id}` };
  }

  async checkStatus(query: StatusQuery): Promise<DeliveryReport> {
    if (Date.now() - query.sentAt.getTime() < this.#deliveryDelayMs) return { status: 'sent' };
    if (SANDBOX_FAILING_RANGE.test(query.to)) return { status: 'failed', error: SANDBOX_FAILURE };
    return { status: 'delivered' };
  }

  statusCheckDelayMs(attempt: number): number {
    return attempt === 1 ? this.#deliveryDelayMs : this.#deliveryDelayMs * 2;
  }
}

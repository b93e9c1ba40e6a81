import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../logger.ts';
import { enqueueJob } from '../outbox/outbox.ts';
import type { Orm } from '../platform/database.ts';
import { queryAll, queryOne } from '../platform/sql.ts';
import { transact } from '../platform/transactions.ts';
import { NotFoundError } from '../shared/errors.ts';
import type { MessagingSettings } from './messaging.service.ts';
import { type FinalStatus, type Outcome, recordOutcomes } from './outcomes.ts';
import { type DeliveryReport, ProviderUnavailableError } from './providers/provider.ts';

export interface DispatchSummary {
  sent: number;
  failed: number;
  /** Left queued because the provider was unavailable: the job is retried for them. */
  retry: number;
}

/** Provider calls in flight per dispatch job. */
const DISPATCH_CONCURRENCY = 8;

/** Handing charged messages to the provider and recording how far they got (the job handlers' work). */
export class MessageDelivery {
  readonly #orm: Orm;
  readonly #settings: MessagingSettings;
  readonly #logger: Logger;

  constructor(orm: Orm, settings: MessagingSettings, logger: Logger) {
    this.#orm = orm;
    this.#settings = settings;
    this.#logger = logger;
  }

  /**
   * Job handler: hands the still-queued messages to the provider, marks them sent (or failed and
   * refunded when the provider refuses them) and schedules the first status check. Throws when
   * some could not be handed over, so the job is retried for those only; on the job's last
   * attempt those fail and are refunded instead of waiting forever.
   */
  async dispatch(messageIds: readonly string[], { lastAttempt = false } = {}): Promise<DispatchSummary> {
    const em = this.#orm.em.fork();
    const provider = this.#settings.provider;
    const queued = await queryAll<{ id: string; recipient: string; body: string; sender_id: string | null }>(
      em,
      `select id::text as id, recipient, body, sender_id from messages
        where id = any(array(select jsonb_array_elements_text(?::jsonb)::bigint)) and status = 'queued'
        order by id`,
      [JSON.stringify(messageIds)],
    );
    const accepted: { id: string; providerMessageId: string }[] = [];
    const refused: Outcome[] = [];
    let retry = 0;
    await forEachLimited(queued, DISPATCH_CONCURRENCY, async (m) => {
      try {
        const outcome = await provider.send({
          id: m.id,
          to: m.recipient,
          text: m.body,
          senderId: m.sender_id,
        });
        if (outcome.accepted) accepted.push({ id: m.id, providerMessageId: outcome.providerMessageId });
        else refused.push({ messageId: m.id, status: 'failed', error: outcome.error });
      } catch (error) {
        if (!(error instanceof ProviderUnavailableError)) throw error;
        if (lastAttempt) {
          refused.push({ messageId: m.id, status: 'failed', error: `not sent: ${error.message}` });
          return;
        }
        retry += 1;
        this.#logger.warn({ messageId: m.id, err: error }, 'provider unavailable; message stays queued');
      }
    });

    await transact(em, async (tx) => {
      const sentIds = await markSent(tx, provider.name, accepted);
      await recordOutcomes(tx, refused);
      if (sentIds.length > 0) await this.#scheduleCheck(tx, sentIds, 1);
    });
    if (retry > 0)
      throw new ProviderUnavailableError(`${retry} message(s) could not be handed to ${provider.name}`);
    return { sent: accepted.length, failed: refused.length, retry };
  }

  /**
   * Job handler: asks the provider about sent messages, records the final ones and checks the
   * rest again later, until the provider's patience runs out.
   */
  async checkStatus(
    messageIds: readonly string[],
    attempt: number,
  ): Promise<{ finished: number; pending: number }> {
    const em = this.#orm.em.fork();
    const provider = this.#settings.provider;
    const sent = await queryAll<{
      id: string;
      recipient: string;
      provider_message_id: string;
      sent_at: string | Date;
    }>(
      em,
      `select id::text as id, recipient, provider_message_id, sent_at from messages
        where id = any(array(select jsonb_array_elements_text(?::jsonb)::bigint)) and status = 'sent'
        order by id`,
      [JSON.stringify(messageIds)],
    );
    const finals: Outcome[] = [];
    const pending: string[] = [];
    await forEachLimited(sent, DISPATCH_CONCURRENCY, async (m) => {
      let report: DeliveryReport;
      try {
        report = await provider.checkStatus({
          providerMessageId: m.provider_message_id,
          to: m.recipient,
          sentAt: new Date(m.sent_at),
        });
      } catch (error) {
        if (!(error instanceof ProviderUnavailableError)) throw error;
        report = { status: 'sent' };
      }
      if (report.status === 'sent') pending.push(m.id);
      else
        finals.push({
          messageId: m.id,
          status: report.status,
          error: report.status === 'failed' ? report.error : null,
        });
    });
    await transact(em, async (tx) => {
      await recordOutcomes(tx, finals);
      if (pending.length === 0) return;
      if (attempt < provider.maxStatusChecks) await this.#scheduleCheck(tx, pending, attempt + 1);
      else this.#logger.warn({ messageIds: pending, attempt }, 'no final delivery report; giving up asking');
    });
    return { finished: finals.length, pending: pending.length };
  }

  /**
   * A delivery report pushed by a provider (a webhook), by the provider's message id. Reports
   * that repeat or come after a final status change nothing, nor does `sent` (a message has a
   * provider id only once it was marked sent); returns whether this one changed something. An
   * id no message was sent as is a NotFoundError.
   */
  async recordProviderReport(report: {
    provider: string;
    providerMessageId: string;
    status: FinalStatus | 'sent';
    error?: string | null;
  }): Promise<boolean> {
    const em = this.#orm.em.fork();
    return transact(em, async (tx) => {
      const row = await queryOne<{ id: string }>(
        tx,
        'select id::text as id from messages where provider = ? and provider_message_id = ?',
        [report.provider, report.providerMessageId],
      );
      if (!row)
        throw new NotFoundError(
          `No message was sent through ${report.provider} as ${report.providerMessageId}`,
        );
      if (report.status === 'sent') return false;
      const changed = await recordOutcomes(tx, [
        { messageId: row.id, status: report.status, error: report.error },
      ]);
      return changed > 0;
    });
  }

  async #scheduleCheck(tx: EntityManager, messageIds: readonly string[], attempt: number): Promise<void> {
    await enqueueJob(
      tx,
      'message.check_status',
      { messageIds: [...messageIds], attempt },
      {
        delayMs: this.#settings.provider.statusCheckDelayMs(attempt),
        dedupKey: `message-check-${messageIds[0]}-${attempt}`,
      },
    );
  }
}

async function markSent(
  tx: EntityManager,
  provider: string,
  accepted: readonly { id: string; providerMessageId: string }[],
): Promise<string[]> {
  if (accepted.length === 0) return [];
  const rows = await queryAll<{ id: string }>(
    tx,
    `update messages m set status = 'sent', provider = ?, provider_message_id = a.pid, sent_at = now()
       from jsonb_to_recordset(?::jsonb) as a(id bigint, pid text)
      where m.id = a.id and m.status = 'queued'
      returning m.id::text as id`,
    [provider, JSON.stringify(accepted.map((a) => ({ id: a.id, pid: a.providerMessageId })))],
  );
  return rows.map((r) => r.id).sort((a, b) => Number(BigInt(a) - BigInt(b)));
}

/** Runs `fn` over the items with at most `limit` in flight. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item);
    }
  });
  await Promise.all(lanes);
}

import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/**
 * A job waiting to be handed to the queue. Written in the same transaction as the change that
 * causes it, so a job exists if and only if its cause committed; the relay moves it to BullMQ.
 */
export const OutboxMessage = defineEntity({
  name: 'OutboxMessage',
  tableName: 'outbox',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    job: p.string().length(64),
    payload: p.json<Record<string, unknown>>(),
    /** Jobs with the same key are one job: the queue deduplicates on it. */
    dedupKey: p.string().length(200).nullable(),
    availableAt: p.datetime().onCreate(() => new Date()),
    dispatchedAt: p.datetime().nullable(),
    attempts: p.integer().default(0),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
  // Wakes the relays at commit, so they wake only for rows that exist. A deferred constraint
  // trigger (MikroORM can only declare it as raw DDL): at commit, the one transaction that gets
  // the advisory lock notifies and the others commit without queuing on NOTIFY's database-wide
  // lock; the relay polls every 20 ms while rows keep coming. See Migration20261124170000.
  triggers: [
    {
      name: 'outbox_notify',
      timing: 'after',
      events: ['insert'],
      forEach: 'row',
      expression:
        "create or replace function \"outbox_outbox_notify_fn\"() returns trigger as $$ begin if pg_try_advisory_xact_lock(7202611240) then perform pg_notify('outbox', ''); end if; return null; end; $$ language plpgsql; " +
        'create constraint trigger "outbox_notify" after insert on "outbox" deferrable initially deferred for each row execute function "outbox_outbox_notify_fn"()',
    },
  ],
  indexes: [
    {
      name: 'outbox_pending',
      expression: 'create index outbox_pending on outbox (id) where dispatched_at is null',
    },
  ],
});
export type IOutboxMessage = InferEntity<typeof OutboxMessage>;

import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/**
 * Request counters of the rate limits when the product runs without Redis (rate-limits.ts):
 * the shape rate-limiter-flexible's PostgreSQL store reads and writes. Unlogged: a counter lost
 * in a crash only lets a few requests more through.
 */
export const RateLimitCounter = defineEntity({
  name: 'RateLimitCounter',
  tableName: 'rate_limits',
  properties: {
    key: p.string().length(255).primary(),
    points: p.integer().default(0),
    /** Epoch milliseconds when the window ends. */
    expire: p.bigint().nullable(),
  },
});
export type IRateLimitCounter = InferEntity<typeof RateLimitCounter>;

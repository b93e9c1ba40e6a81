import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/**
 * Proof that a job's effect committed: written in the same transaction as the effect, so a job
 * delivered twice (queues deliver at least once) finds it and does nothing the second time.
 */
export const JobReceipt = defineEntity({
  name: 'JobReceipt',
  tableName: 'job_receipts',
  properties: {
    key: p.string().length(200).primary(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export type IJobReceipt = InferEntity<typeof JobReceipt>;

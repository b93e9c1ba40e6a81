import type { EntityManager } from '@mikro-orm/postgresql';
import { run } from '../platform/sql.ts';

/**
 * Claims a job's receipt inside the transaction that carries out its effect. False means an
 * earlier delivery of the same job already committed, and this one must do nothing. A
 * concurrent delivery blocks on the insert until the first commits (then gets false) or rolls
 * back (then gets true).
 */
export async function claimJobReceipt(em: EntityManager, key: string): Promise<boolean> {
  const inserted = await run(
    em,
    'insert into job_receipts (key, created_at) values (?, now()) on conflict (key) do nothing',
    [key.slice(0, 200)],
  );
  return inserted === 1;
}

/** Whether a job already left its receipt (for effects outside the database, checked before acting). */
export async function hasJobReceipt(em: EntityManager, key: string): Promise<boolean> {
  const rows = (await em.execute(
    'select 1 from job_receipts where key = ?',
    [key.slice(0, 200)],
    'all',
  )) as unknown[];
  return rows.length > 0;
}

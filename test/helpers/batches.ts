/** Every row of a streamed statement (`ledger.statement`, `messaging.statement`), its batches read to the end. */
export async function allBatches<T>(batches: AsyncIterable<T[]>): Promise<T[]> {
  const rows: T[] = [];
  for await (const batch of batches) rows.push(...batch);
  return rows;
}

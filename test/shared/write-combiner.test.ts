import { describe, expect, it } from 'vitest';
import { type Settled, WriteCombiner } from '../../src/shared/write-combiner.ts';

describe('write combiner', () => {
  it('batches requests of one turn, then those that arrive while a batch runs, and answers each', async () => {
    const batches: number[][] = [];
    const combiner = new WriteCombiner<string, number, number>(
      async (_key, batch) => {
        batches.push([...batch]);
        await new Promise((r) => setTimeout(r, 20));
        return batch.map(
          (n): Settled<number> => (n % 2 ? { ok: true, value: n * 10 } : { ok: false, error: n }),
        );
      },
      { maxWeight: 100, weight: () => 1 },
    );
    const first = Array.from({ length: 5 }, (_, i) => combiner.submit('k', i));
    // These arrive while the first batch's transaction runs.
    await new Promise((r) => setTimeout(r, 5));
    const later = Array.from({ length: 15 }, (_, i) => combiner.submit('k', 5 + i));
    const results = await Promise.allSettled([...first, ...later]);
    expect(batches).toEqual([[0, 1, 2, 3, 4], Array.from({ length: 15 }, (_, i) => 5 + i)]);
    results.forEach((r, i) => {
      if (i % 2) expect(r).toEqual({ status: 'fulfilled', value: i * 10 });
      else expect(r).toEqual({ status: 'rejected', reason: i });
    });
  });

  it('keeps batches within the weight limit, but a heavy request still goes alone', async () => {
    const sizes: number[] = [];
    const combiner = new WriteCombiner<string, number, number>(
      async (_key, batch) => {
        sizes.push(batch.reduce((s, n) => s + n, 0));
        await new Promise((r) => setTimeout(r, 2));
        return batch.map((n) => ({ ok: true, value: n }));
      },
      { maxWeight: 10, weight: (n) => n },
    );
    await Promise.all([4, 4, 4, 4, 25, 3].map((n) => combiner.submit('k', n)));
    expect(sizes.every((s) => s <= 10 || s === 25)).toBe(true);
    expect(sizes).toContain(25);
  });

  it('retries each request alone when a whole batch throws', async () => {
    let calls = 0;
    const combiner = new WriteCombiner<string, string, string>(
      async (_key, batch) => {
        calls += 1;
        await new Promise((r) => setTimeout(r, 2));
        if (batch.includes('poison')) throw new Error('poisoned batch');
        return batch.map((s) => ({ ok: true, value: s.toUpperCase() }));
      },
      { maxWeight: 100, weight: () => 1 },
    );
    const first = combiner.submit('k', 'first');
    const rest = ['a', 'poison', 'b'].map((s) => combiner.submit('k', s));
    const results = await Promise.allSettled([first, ...rest]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(calls).toBeGreaterThan(2);
  });

  it('runs different keys independently', async () => {
    const running = new Set<string>();
    let overlap = false;
    const combiner = new WriteCombiner<string, number, number>(
      async (key, batch) => {
        running.add(key);
        if (running.size > 1) overlap = true;
        await new Promise((r) => setTimeout(r, 10));
        running.delete(key);
        return batch.map((n) => ({ ok: true, value: n }));
      },
      { maxWeight: 100, weight: () => 1 },
    );
    await Promise.all([combiner.submit('a', 1), combiner.submit('b', 2)]);
    expect(overlap).toBe(true);
  });

  it('under contention holds a batch open for the callers of the last one, but never for a lone caller', async () => {
    const sizes: number[] = [];
    const combiner = new WriteCombiner<string, number, number>(
      async (_key, batch) => {
        sizes.push(batch.length);
        await new Promise((r) => setTimeout(r, 5));
        return batch.map((n) => ({ ok: true, value: n }));
      },
      { maxWeight: 100, weight: () => 1, lingerMs: 50 },
    );
    // Four callers in a loop, each needing a moment between its answer and its next request.
    await Promise.all(
      Array.from({ length: 4 }, async (_, caller) => {
        for (let i = 0; i < 5; i++) {
          await new Promise((r) => setTimeout(r, 2 + caller));
          await combiner.submit('k', i);
        }
      }),
    );
    // Without holding open, the callers drift into batches of one or two (about 12 batches).
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(20);
    expect(sizes.length, `batch sizes ${sizes}`).toBeLessThanOrEqual(7);

    const alone: number[] = [];
    const single = new WriteCombiner<string, number, number>(
      async (_key, batch) => {
        alone.push(Date.now());
        return batch.map((n) => ({ ok: true, value: n }));
      },
      { maxWeight: 100, weight: () => 1, lingerMs: 1_000 },
    );
    const started = Date.now();
    for (let i = 0; i < 3; i++) await single.submit('k', i);
    expect(Date.now() - started).toBeLessThan(500);
  });
});

/**
 * Group commit for one hot row: requests for the same key that arrive while a transaction for
 * that key is running wait, and the next transaction takes all of them at once. One key never
 * has two transactions in flight from this process, so a burst of N requests costs a handful of
 * commits instead of N, and each request still gets its own answer.
 */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface CombinerOptions<Req> {
  /** Upper bound on the summed weight of one batch (a request always fits alone). */
  maxWeight: number;
  weight(request: Req): number;
  /**
   * Under contention, how long at most to hold the next batch open for the callers that were
   * active during the last one: a caller answered by a batch needs a moment (one round trip, say)
   * to prepare its next request, and waiting for it gives one batch of everyone instead of
   * cohorts taking turns. A lone caller never waits.
   */
  lingerMs?: number;
}

interface Waiting<Req, Res> {
  request: Req;
  resolve(value: Res): void;
  reject(error: unknown): void;
}

export class WriteCombiner<Key, Req, Res> {
  readonly #queues = new Map<Key, Waiting<Req, Res>[]>();
  /** Wakes a key's drain loop that is holding a batch open, on each arrival. */
  readonly #arrivals = new Map<Key, () => void>();
  readonly #runBatch: (key: Key, batch: Req[]) => Promise<Settled<Res>[]>;
  readonly #options: CombinerOptions<Req>;

  /**
   * `runBatch` answers every request of the batch, in order. If it throws, nothing of the batch
   * is assumed done and each request is retried alone, so one bad request cannot sink the others.
   */
  constructor(runBatch: (key: Key, batch: Req[]) => Promise<Settled<Res>[]>, options: CombinerOptions<Req>) {
    this.#runBatch = runBatch;
    this.#options = options;
  }

  submit(key: Key, request: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const queue = this.#queues.get(key);
      if (queue) {
        queue.push({ request, resolve, reject });
        this.#arrivals.get(key)?.();
        return;
      }
      this.#queues.set(key, [{ request, resolve, reject }]);
      void this.#drain(key);
    });
  }

  async #drain(key: Key): Promise<void> {
    const queue = this.#queues.get(key)!;
    // Callers seen during the last batch: those it answered and those that queued meanwhile.
    let active = 1;
    for (;;) {
      await this.#gather(key, queue, active);
      // Nobody came back within the linger: the key is idle.
      if (queue.length === 0) break;
      let weight = 0;
      let count = 0;
      while (count < queue.length) {
        const next = this.#options.weight(queue[count]!.request);
        if (count > 0 && weight + next > this.#options.maxWeight) break;
        weight += next;
        count += 1;
      }
      const batch = queue.splice(0, count);
      await this.#settle(key, batch, () => {
        // Counted before anyone is answered: an answered caller's next request is not a new caller.
        active = batch.length + queue.length;
      });
    }
    this.#queues.delete(key);
  }

  /**
   * Waits at least one event-loop turn (callers answered by the previous batch send their next
   * request in promise callbacks), and under contention until `active` requests are queued or
   * lingerMs has passed.
   */
  async #gather(key: Key, queue: Waiting<Req, Res>[], active: number): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const linger = this.#options.lingerMs ?? 0;
    if (linger <= 0 || queue.length >= active) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#arrivals.delete(key);
        resolve();
      };
      const timer = setTimeout(done, linger);
      this.#arrivals.set(key, () => {
        if (queue.length >= active) done();
      });
    });
  }

  async #settle(key: Key, batch: Waiting<Req, Res>[], beforeAnswering: () => void = () => {}): Promise<void> {
    let results: Settled<Res>[];
    try {
      results = await this.#runBatch(
        key,
        batch.map((w) => w.request),
      );
    } catch (error) {
      beforeAnswering();
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      for (const waiting of batch) await this.#settle(key, [waiting]);
      return;
    }
    beforeAnswering();
    batch.forEach((waiting, i) => {
      const result = results[i];
      if (!result) waiting.reject(new Error('the batch gave no answer for this request'));
      else if (result.ok) waiting.resolve(result.value);
      else waiting.reject(result.error);
    });
  }
}

/**
 * At most `max` tasks at once; the rest wait their turn in order. The work that follows an ack
 * runs through one of these so that a burst of commands cannot crowd the event loop that must
 * ack the next request within Slack's 3 seconds: a queued command costs nothing while it waits.
 */
export class Limiter {
  readonly #max: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];
  readonly #idleWaiters: Array<() => void> = [];

  constructor(max: number) {
    this.#max = max;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#max) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#active += 1;
    try {
      return await task();
    } finally {
      this.#active -= 1;
      this.#waiting.shift()?.();
      if (this.#active === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  /** Resolves once no task runs or waits: at shutdown, the work already acked is finished first. */
  idle(): Promise<void> {
    if (this.#active === 0 && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }
}

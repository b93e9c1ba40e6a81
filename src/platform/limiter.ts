/**
 * At most `max` holders at once; the rest wait their turn in order. The work that follows a
 * Slack ack runs through one (src/slack/index.ts), so that a burst of commands cannot crowd the
 * event loop that must ack the next request within Slack's 3 seconds; statements streamed
 * through a database cursor take one per pool (platform/sql.ts), so that long exports cannot
 * hold every connection. Waiting costs nothing.
 */
export class Limiter {
  readonly #max: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];
  readonly #idleWaiters: Array<() => void> = [];

  constructor(max: number) {
    this.#max = max;
  }

  /** Waits for a place; the function it resolves to gives the place back (once). */
  async acquire(): Promise<() => void> {
    // A place given back goes straight to the first in line, so the count never dips meanwhile.
    if (this.#active < this.#max) this.#active += 1;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) return next();
      this.#active -= 1;
      if (this.#active === 0) for (const resolve of this.#idleWaiters.splice(0)) resolve();
    };
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    const release = await this.acquire();
    try {
      return await task();
    } finally {
      release();
    }
  }

  /** Resolves once no task runs or waits: at shutdown, the work already acked is finished first. */
  idle(): Promise<void> {
    if (this.#active === 0 && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }
}

/**
 * At most `max` tasks at once; the rest wait their turn in order. The work that follows an ack
 * runs through one of these so that a burst of commands cannot crowd the event loop that must
 * ack the next request within Slack's 3 seconds: a queued command costs nothing while it waits.
 */
export class Limiter {
  readonly #max: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

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
    }
  }
}

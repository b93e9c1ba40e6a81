import pg from 'pg';
import type { Logger } from '../logger.ts';

/** The longest wait before listening again after the connection was lost or could not be opened. */
const MAX_RECONNECT_MS = 5_000;

export interface NotificationHandlers {
  /** One NOTIFY on the channel, with its payload. */
  notified(payload: string): void;
  /** LISTEN is up (again): notifications sent before now were not heard. */
  listening(): void;
}

/**
 * A PostgreSQL LISTEN on one channel, on a connection of its own (a pooled connection goes back
 * to the pool and stops hearing), from construction until `close`. When the connection is lost
 * it listens again after a backoff (100 ms doubling, at most 5 s), saying `listening` each time
 * it does. NOTIFY is sent
 * by the database when the notifying transaction commits, to every process listening — shortly
 * after, not with the commit, so it suits wake-ups (the outbox relay's new rows), not checks
 * that must see a change at once (those read a counter: src/members/api-key-cache.ts).
 */
export class ChannelListener {
  readonly #connection: pg.ClientConfig;
  readonly #channel: string;
  readonly #handlers: NotificationHandlers;
  readonly #logger: Logger;
  #client: pg.Client | null = null;
  #closed = false;
  #attempt = 0;
  #retry: NodeJS.Timeout | null = null;

  constructor(connection: pg.ClientConfig, channel: string, handlers: NotificationHandlers, logger: Logger) {
    // Channels are the product's own names, written into LISTEN as they are.
    if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`not a plain channel name: ${channel}`);
    this.#connection = connection;
    this.#channel = channel;
    this.#handlers = handlers;
    this.#logger = logger;
    void this.#listen();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
  }

  async #listen(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({ ...this.#connection, keepAlive: true });
    this.#client = client;
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      if (this.#closed || this.#client !== client) return;
      this.#client = null;
      this.#logger.warn(
        { channel: this.#channel, error: error?.message },
        'lost the notification connection; listening again shortly',
      );
      client.end().catch(() => {});
      this.#attempt += 1;
      this.#retry = setTimeout(
        () => void this.#listen(),
        Math.min(100 * 2 ** this.#attempt, MAX_RECONNECT_MS),
      );
      this.#retry.unref();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (message) => {
      if (message.channel === this.#channel) this.#handlers.notified(message.payload ?? '');
    });
    try {
      await client.connect();
      if (this.#closed) {
        await client.end();
        return;
      }
      // A listener must not keep a process alive on its own: the process's servers and workers do.
      (client as pg.Client & { unref(): void }).unref();
      await client.query(`listen ${this.#channel}`);
      if (lost || this.#closed) return;
      this.#attempt = 0;
      this.#handlers.listening();
    } catch (error) {
      onLost(error as Error);
    }
  }
}

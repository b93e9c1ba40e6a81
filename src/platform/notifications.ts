import type pg from 'pg';
import type { Logger } from '../logger.ts';
import type { Orm } from './database.ts';
import { poolOf } from './prepared.ts';

/** How long to wait before listening again after the connection was lost. */
const RECONNECT_MS = 1_000;

export interface NotificationHandlers {
  /** One NOTIFY on the channel, with its payload. */
  notified(payload: string): void;
  /**
   * Notifications may have been missed: the connection was lost, or listening (re)started.
   * Whatever was learned before must be forgotten.
   */
  reset(): void;
}

/**
 * A PostgreSQL LISTEN on one channel, on a connection of its own (a pooled connection goes back
 * to the pool and stops hearing). Started on first use; when the connection is lost it says
 * `reset`, stops `listening`, and listens again a second later. NOTIFY is sent by the database
 * when the notifying transaction commits, to every process listening: how one process learns at
 * once of a change another one made.
 */
export class ChannelListener {
  readonly #orm: Orm;
  readonly #channel: string;
  readonly #handlers: NotificationHandlers;
  readonly #logger: Logger;
  #client: pg.Client | null = null;
  #listening = false;
  #started = false;
  #closed = false;
  #retry: NodeJS.Timeout | null = null;

  constructor(orm: Orm, channel: string, handlers: NotificationHandlers, logger: Logger) {
    this.#orm = orm;
    this.#channel = channel;
    this.#handlers = handlers;
    this.#logger = logger;
  }

  /** True only while every notification is being heard. */
  get listening(): boolean {
    return this.#listening;
  }

  /** Starts listening, once; returns at once (see `listening`). */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    void this.#listen();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#listening = false;
    if (this.#retry) clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
  }

  async #listen(): Promise<void> {
    const pool = await poolOf(this.#orm);
    const { Client } = pool as unknown as { Client: typeof pg.Client };
    const client = new Client(pool.options);
    this.#client = client;
    let lost = false;
    const onLost = (error?: Error) => {
      if (lost) return;
      lost = true;
      this.#listening = false;
      this.#handlers.reset();
      if (this.#closed || this.#client !== client) return;
      this.#client = null;
      this.#logger.warn(
        { channel: this.#channel, error: error?.message },
        'lost the notification connection; listening again shortly',
      );
      client.end().catch(() => {});
      this.#retry = setTimeout(() => void this.#listen(), RECONNECT_MS);
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
      await client.query(`listen ${client.escapeIdentifier(this.#channel)}`);
      if (lost || this.#closed) return;
      this.#handlers.reset();
      this.#listening = true;
    } catch (error) {
      onLost(error as Error);
    }
  }
}

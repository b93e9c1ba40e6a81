// biome-ignore-all lint/suspicious/noExplicitAny: Slack payloads are loose JSON; the assertions say what matters.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import type { FakeSlack } from './fake-slack.ts';

/** What Slack sends over a Socket Mode connection for one request. */
export interface SocketEnvelope {
  envelope_id: string;
  type: 'slash_commands' | 'interactive' | 'events_api';
  payload: Record<string, unknown>;
  accepts_response_payload: boolean;
  retry_attempt?: number;
  retry_reason?: string;
}

/** The app's acknowledgement of one envelope, as it sent it, and how long it took. */
export interface SocketAck {
  envelope_id: string;
  /** What the app put in the ack (Bolt sends `{}` for a plain ack). */
  payload?: Record<string, any>;
  /** Milliseconds from sending the envelope to receiving the ack. */
  ms: number;
}

/** Slack's deadline for an ack. */
export const ACK_DEADLINE_MS = 3_000;

/**
 * Slack's side of Socket Mode, in process: a WebSocket server that `apps.connections.open` on
 * the fake Slack Web API points at. It greets each connection with `hello`, delivers envelopes
 * (slash commands, interactions, Events API callbacks) on the newest open connection, and
 * records the acks the app sends back. Build the envelopes' payloads with SlackRequests'
 * `commandPayload`, `clickPayload` and `eventPayload`, so they are what the HTTP tests send.
 */
export class FakeSocketMode {
  /** Every ack received, in order. */
  readonly acks: SocketAck[] = [];
  /** The URL (path and query) of every connection the app opened, in order. */
  readonly connections: string[] = [];
  private readonly server: WebSocketServer;
  private readonly sockets: WebSocket[] = [];
  private readonly sentAt = new Map<string, number>();
  private readonly ackWaiters = new Map<string, (ack: SocketAck) => void>();
  private readonly connectionWaiters = new Set<() => void>();
  private sequence = 0;

  private constructor(server: WebSocketServer) {
    this.server = server;
    server.on('connection', (socket, request) => this.accept(socket, request.url ?? '/'));
  }

  /** Starts the server and makes `apps.connections.open` on `fakeSlack` answer with its URL. */
  static async start(fakeSlack: FakeSlack): Promise<FakeSocketMode> {
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const fake = new FakeSocketMode(server);
    // Like Slack's `wss://wss-primary.slack.com/link/?ticket=…&app_id=…`.
    fakeSlack.socketModeUrl = `${fake.url}/link/?ticket=${randomUUID()}&app_id=A0TEAMOPS`;
    return fake;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Connections the app holds open now. */
  get openConnections(): number {
    return this.sockets.filter((socket) => socket.readyState === socket.OPEN).length;
  }

  /** Resolves once the app holds an open connection. */
  waitForConnection(timeoutMs = 5_000): Promise<void> {
    if (this.openConnections > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.connectionWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.connectionWaiters.delete(done);
        reject(new Error(`the app opened no Socket Mode connection within ${timeoutMs} ms`));
      }, timeoutMs);
      this.connectionWaiters.add(done);
    });
  }

  /** A slash command (the fields Slack would otherwise post to the request URL). */
  slashCommand(fields: Record<string, string>): Promise<SocketAck> {
    return this.deliver('slash_commands', fields, true);
  }

  /** A `block_actions`, `view_submission` … payload. Slack accepts a response payload only for view submissions. */
  interactive(payload: Record<string, unknown>): Promise<SocketAck> {
    return this.deliver('interactive', payload, payload.type === 'view_submission');
  }

  /** An Events API `event_callback` body. */
  eventsApi(body: Record<string, unknown>): Promise<SocketAck> {
    return this.deliver('events_api', body, false);
  }

  /**
   * Sends one envelope on the newest open connection and resolves with the app's ack; rejects
   * when no ack arrives within Slack's 3 seconds.
   */
  deliver(
    type: SocketEnvelope['type'],
    payload: Record<string, unknown>,
    acceptsResponsePayload: boolean,
  ): Promise<SocketAck> {
    const socket = this.sockets.findLast((s) => s.readyState === s.OPEN);
    if (!socket) return Promise.reject(new Error('the app holds no open Socket Mode connection'));
    this.sequence += 1;
    const envelope: SocketEnvelope = {
      envelope_id: `${randomUUID()}-${this.sequence}`,
      type,
      payload,
      accepts_response_payload: acceptsResponsePayload,
      ...(type === 'events_api' && { retry_attempt: 0, retry_reason: '' }),
    };
    const acked = new Promise<SocketAck>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.ackWaiters.delete(envelope.envelope_id);
        reject(new Error(`no ack for ${type} envelope within ${ACK_DEADLINE_MS} ms`));
      }, ACK_DEADLINE_MS);
      this.ackWaiters.set(envelope.envelope_id, (ack) => {
        clearTimeout(timer);
        resolve(ack);
      });
    });
    this.sentAt.set(envelope.envelope_id, performance.now());
    socket.send(JSON.stringify(envelope));
    return acked;
  }

  /** Closes every connection at once (no close handshake) and the server. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: WebSocket, url: string): void {
    this.connections.push(url);
    this.sockets.push(socket);
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.receive(String(data));
    });
    socket.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.openConnections,
        debug_info: { host: 'fake-applink', build_number: 1, approximate_connection_time: 18_060 },
        connection_info: { app_id: 'A0TEAMOPS' },
      }),
    );
    for (const waiter of [...this.connectionWaiters]) waiter();
  }

  private receive(text: string): void {
    let message: any;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const id = message?.envelope_id;
    if (typeof id !== 'string') return;
    const sentAt = this.sentAt.get(id);
    this.sentAt.delete(id);
    const ack: SocketAck = {
      envelope_id: id,
      ...(message.payload !== undefined && { payload: message.payload }),
      ms: sentAt === undefined ? Number.NaN : performance.now() - sentAt,
    };
    this.acks.push(ack);
    const waiter = this.ackWaiters.get(id);
    this.ackWaiters.delete(id);
    waiter?.(ack);
  }
}

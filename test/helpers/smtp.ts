import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedEmail {
  from: string;
  to: string[];
  messageId: string;
  subject: string;
  text: string;
  html: string;
  raw: string;
}

/**
 * An in-process SMTP server that keeps what it receives. Point SMTP_URL at `url`. It can refuse
 * the next messages, with a temporary (4xx) or permanent (5xx) reply, to test retries.
 */
export class TestSmtpServer {
  readonly received: ReceivedEmail[] = [];
  private readonly refusals: { code: number; message: string }[] = [];
  private readonly closedSessions = new Set<string>();
  private delayMs = 0;
  private readonly waiters = new Set<() => void>();
  private server: SMTPServer | undefined;
  private port = 0;

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** The next message is refused with this reply code (421/451 temporary, 550 permanent). */
  refuseNext(code: number, message = 'Try again later'): void {
    this.refusals.push({ code, message });
  }

  /**
   * Holds every reply to DATA this long, like a slow server. A client that disconnects while
   * waiting never got the "250 OK", so the message does not count as received.
   */
  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  to(address: string): ReceivedEmail[] {
    return this.received.filter((email) => email.to.includes(address.toLowerCase()));
  }

  /** The first email (received or still to come) that matches; the wait allows for a machine under load. */
  async waitFor(predicate: (email: ReceivedEmail) => boolean, timeoutMs = 20_000): Promise<ReceivedEmail> {
    const find = () => this.received.find(predicate);
    const found = find();
    if (found) return found;
    return new Promise((resolve, reject) => {
      const check = () => {
        const email = find();
        if (!email) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(email);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`no matching email within ${timeoutMs} ms (received ${this.received.length})`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  async start(): Promise<this> {
    this.server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onClose: (session) => {
        this.closedSessions.add(session.id);
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', async () => {
          if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
          if (this.closedSessions.has(session.id)) return;
          const refusal = this.refusals.shift();
          if (refusal) {
            const error = new Error(refusal.message) as Error & { responseCode: number };
            error.responseCode = refusal.code;
            callback(error);
            return;
          }
          const raw = Buffer.concat(chunks).toString('utf8');
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          const to = session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase());
          this.received.push({ from, to, raw, ...parseMessage(raw) });
          for (const waiter of [...this.waiters]) waiter();
          callback();
        });
      },
    });
    // A client that dies mid-message (a worker killed with SIGKILL) resets its connection; the
    // server reports that as an 'error' event, which with no listener would end the test process.
    this.server.on('error', () => {});
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

export async function startSmtpServer(): Promise<TestSmtpServer> {
  return new TestSmtpServer().start();
}

/** Just enough MIME for what nodemailer writes: headers, multipart/alternative, quoted-printable, base64. */
function parseMessage(raw: string): { messageId: string; subject: string; text: string; html: string } {
  const { headers, body } = splitHeaders(raw);
  const parts = collectParts(headers, body);
  return {
    messageId: headers.get('message-id') ?? '',
    subject: decodeWords(headers.get('subject') ?? ''),
    text: parts.find((part) => part.type === 'text/plain')?.content ?? '',
    html: parts.find((part) => part.type === 'text/html')?.content ?? '',
  };
}

function splitHeaders(raw: string): { headers: Map<string, string>; body: string } {
  const separator = raw.indexOf('\r\n\r\n');
  const head = separator === -1 ? raw : raw.slice(0, separator);
  const body = separator === -1 ? '' : raw.slice(separator + 4);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function collectParts(headers: Map<string, string>, body: string): { type: string; content: string }[] {
  const contentType = headers.get('content-type') ?? 'text/plain';
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
    if (!boundary) return [];
    return body
      .split(`--${boundary}`)
      .slice(1)
      .filter((chunk) => !chunk.startsWith('--'))
      .flatMap((chunk) => {
        const part = splitHeaders(chunk.replace(/^\r\n/, ''));
        return collectParts(part.headers, part.body);
      });
  }
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  return [{ type, content: decodeBody(body.replace(/\r\n$/, ''), encoding) }];
}

function decodeBody(body: string, encoding: string): string {
  if (encoding === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const text = body.replace(/=\r\n/g, '');
    const bytes: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const hex = text[i] === '=' ? /^[0-9A-F]{2}/i.exec(text.slice(i + 1, i + 3)) : null;
      if (hex) {
        bytes.push(Number.parseInt(hex[0], 16));
        i += 2;
      } else {
        bytes.push(...Buffer.from(text[i]!, 'utf8'));
      }
    }
    return Buffer.from(bytes).toString('utf8');
  }
  return body;
}

/** RFC 2047 encoded words in headers (=?UTF-8?Q?…?= / =?UTF-8?B?…?=). */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?utf-8\?([QB])\?([^?]*)\?=/gi, (_, kind: string, text: string) =>
      kind.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : decodeBody(text.replace(/_/g, ' '), 'quoted-printable'),
    );
}

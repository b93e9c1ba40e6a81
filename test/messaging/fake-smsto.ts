import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown> | null;
}

export interface FakeSmsto {
  url: string;
  requests: RecordedRequest[];
  /** Status SMS.to reports for a message id (default "SENT"). */
  statuses: Map<string, string>;
  /** Answer the next sends with this status and body instead of accepting them. */
  failNextSends(count: number, status: number, body: unknown): void;
  close(): Promise<void>;
}

/** A local stand-in for SMS.to's send and message-status endpoints that records what it was asked. */
export async function startFakeSmsto(apiKey: string): Promise<FakeSmsto> {
  const requests: RecordedRequest[] = [];
  const statuses = new Map<string, string>();
  const failures: { status: number; body: unknown }[] = [];
  let sequence = 0;

  const server: Server = createServer(async (req, res) => {
    const body = await readJson(req);
    const path = req.url ?? '/';
    requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, body });
    const reply = (status: number, json: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(json));
    };
    if (req.headers.authorization !== `Bearer ${apiKey}`)
      return reply(401, { success: false, message: 'Unauthenticated.' });
    if (req.method === 'POST' && path === '/sms/send') {
      const failure = failures.shift();
      if (failure) return reply(failure.status, failure.body);
      sequence += 1;
      const id = `fake-${sequence}`;
      return reply(200, {
        message: 'Message is queued for sending! Please check report for delivery status.',
        success: true,
        message_id: id,
      });
    }
    const match = /^\/message\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && match) {
      const id = decodeURIComponent(match[1]!);
      return reply(200, { _id: id, status: statuses.get(id) ?? 'SENT' });
    }
    return reply(404, { success: false, message: 'Not found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    statuses,
    failNextSends(count, status, body) {
      for (let i = 0; i < count; i += 1) failures.push({ status, body });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return null;
  return JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
}

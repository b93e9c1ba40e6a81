import { createHmac, timingSafeEqual } from 'node:crypto';
import { parse as parseQuery } from 'node:querystring';
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import express, { type RequestHandler } from 'express';
import type { Logger } from '../logger.ts';
import type { RateLimits } from '../platform/rate-limits.ts';

/** How far a request's timestamp may be from now, either way (Slack's own rule is 5 minutes). */
export const SLACK_CLOCK_TOLERANCE_SECONDS = 5 * 60;
/** Bolt's own limit for a request body. */
const BODY_LIMIT = '10mb';

/**
 * Runs on POST /slack/events before Bolt. Bolt verifies the signature but only refuses old
 * timestamps, and runs a request replayed within its window again. Here a request must:
 * - carry a timestamp within 5 minutes of now, in the past or the future;
 * - be correctly signed (checked here too, so an unsigned request cannot use up a signature);
 * - carry a signature not seen before, across every web process (the shared store);
 * - come from a Slack user under their rate limit (429 with Retry-After otherwise).
 * A retry Slack sends of its own (X-Slack-Retry-Num) is acknowledged and not run: the first
 * delivery reached us, and running it twice would run the command twice.
 * The raw body is kept on the request, where Bolt reads it instead of the stream.
 */
export function slackRequestGuard(options: {
  signingSecret: string;
  rateLimits: () => RateLimits | undefined;
  logger: Logger;
  now?: () => number;
}): RequestHandler[] {
  const now = options.now ?? Date.now;
  const log = options.logger.child({ component: 'slack-guard' });
  const readBody = express.raw({ type: () => true, limit: BODY_LIMIT });
  const guard: RequestHandler = (req, res, next) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    (req as { rawBody?: Buffer }).rawBody = raw;
    const timestamp = Number(req.get('x-slack-request-timestamp'));
    const signature = req.get('x-slack-signature') ?? '';
    if (!Number.isInteger(timestamp) || Math.abs(now() / 1000 - timestamp) > SLACK_CLOCK_TOLERANCE_SECONDS) {
      log.warn({ timestamp: req.get('x-slack-request-timestamp') }, 'refused: timestamp too far from now');
      res.status(401).send('Request timestamp is more than 5 minutes from now');
      return;
    }
    if (!validSignature(options.signingSecret, timestamp, raw, signature)) {
      res.status(401).send('Invalid signature');
      return;
    }
    if (req.get('x-slack-retry-num') !== undefined) {
      log.info(
        { retry: req.get('x-slack-retry-num'), reason: req.get('x-slack-retry-reason') },
        'Slack retry acknowledged without running it again',
      );
      res.status(200).set('X-Slack-No-Retry', '1').send();
      return;
    }
    const limits = options.rateLimits();
    if (!limits) return next();
    void (async () => {
      if ((await limits.slackSignatures.take(signature)) !== null) {
        log.warn('refused: a signature already used (replayed request)');
        res.status(401).send('This request was already received');
        return;
      }
      const user = slackUserOf(raw, req.get('content-type'));
      const retryAfter = user ? await limits.slack.take(user) : null;
      if (retryAfter !== null) {
        res
          .status(429)
          .set('Retry-After', String(retryAfter))
          .send(`Too many requests: try again in ${retryAfter} s`);
        return;
      }
      next();
    })().catch(next);
  };
  return [readBody, guard];
}

function validSignature(secret: string, timestamp: number, body: Buffer, signature: string): boolean {
  const match = /^v0=([0-9a-f]{64})$/.exec(signature);
  if (!match) return false;
  const expected = createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(match[1]!, 'hex'));
}

/** "team:user" of a command, interaction or event; null when the body names no user. */
function slackUserOf(raw: Buffer, contentType: string | undefined): string | null {
  try {
    const text = raw.toString('utf8');
    let body: Record<string, unknown>;
    if (contentType?.startsWith('application/x-www-form-urlencoded')) {
      const form = parseQuery(text);
      body = typeof form.payload === 'string' ? JSON.parse(form.payload) : form;
    } else {
      body = JSON.parse(text);
    }
    return slackUserKey(body);
  } catch {
    return null;
  }
}

/** The rate-limit key of a parsed command, interaction or event: "team:user", or null. */
function slackUserKey(body: Record<string, unknown>): string | null {
  const user =
    body.user_id ??
    (body.user as { id?: unknown } | undefined)?.id ??
    (body.event as { user?: unknown } | undefined)?.user;
  const team = body.team_id ?? (body.team as { id?: unknown } | undefined)?.id ?? '';
  return typeof user === 'string' ? `${String(team)}:${user}` : null;
}

/**
 * The per-user limit of slackRequestGuard for Socket Mode, where requests arrive over the
 * socket and not on /slack/events: a Bolt global middleware, first in line, counting on the
 * same shared counters. A refused command is acked with the wait in its ephemeral answer; a
 * refused click is acked and dropped; a refused modal submission is not acked, so Slack says it
 * failed and the modal keeps what was typed (as a 429 does over HTTP). Events were acked by Bolt.
 */
export function slackUserLimit(options: {
  rateLimits: () => RateLimits | undefined;
  logger: Logger;
}): Middleware<AnyMiddlewareArgs> {
  const log = options.logger.child({ component: 'slack-guard' });
  return async (args) => {
    const limits = options.rateLimits();
    const user = limits ? slackUserKey(args.body as Record<string, unknown>) : null;
    const retryAfter = user ? await limits!.slack.take(user) : null;
    if (retryAfter === null) return args.next();
    log.warn({ retryAfter }, 'refused: Slack user over the rate limit (Socket Mode)');
    const ack = (args as { ack?: (response?: object) => Promise<void> }).ack;
    if ('command' in args) {
      await ack?.({ response_type: 'ephemeral', text: `Too many requests: try again in ${retryAfter} s` });
    } else if ((args.body as { type?: unknown }).type !== 'view_submission') {
      await ack?.();
    }
  };
}

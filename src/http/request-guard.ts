import type { Request, RequestHandler, Response } from 'express';
import type { Limiter, RateLimits } from '../platform/rate-limits.ts';
import { RateLimitedError } from '../shared/errors.ts';
import { requireValidInput } from '../shared/text.ts';

/**
 * What every API router runs before its routes: the text rule over the whole request (path,
 * query, body, Idempotency-Key), so a NUL or a lone surrogate is a 422 naming the field in the
 * router's own error shape, and the per-API-key rate limit. The services check again where they
 * read each string; this is the net for strings no service looks at closely.
 */

/** The app's rate limits (set by createHttpApp); absent on a bare router, which then is not limited. */
export function rateLimitsOf(req: Request): RateLimits | undefined {
  return req.app?.locals?.rateLimits as RateLimits | undefined;
}

/** Refuses a request with invalid text anywhere in it (a ValidationError for the router's error handler). */
export const rejectInvalidText: RequestHandler = (req, _res, next) => {
  try {
    for (const segment of req.path.split('/')) {
      const decoded = safeDecode(segment);
      if (decoded !== null) requireValidInput(decoded, 'path');
    }
    requireValidInput(req.query, '');
    requireValidInput(req.body, '');
    const key = req.get('idempotency-key');
    if (key !== undefined) requireValidInput(key, 'Idempotency-Key');
    next();
  } catch (error) {
    next(error);
  }
};

/** After authentication: counts the request against its API key's limit (keyed by member). */
export const limitPerApiKey: RequestHandler = (req, res, next) => {
  const limits = rateLimitsOf(req);
  if (!limits || !req.member) return next();
  take(limits.api, `member:${req.member.id}`, res, 'Too many requests with this API key').then(next, next);
};

/** Counts the request against its client address's limit (the invitation pages). */
export function limitPerAddress(render: (res: Response, retryAfterSeconds: number) => void): RequestHandler {
  return (req, res, next) => {
    const limits = rateLimitsOf(req);
    if (!limits) return next();
    limits.invitations.take(`address:${clientAddress(req)}`).then((retryAfter) => {
      if (retryAfter === null) return next();
      res.set('Retry-After', String(retryAfter));
      render(res, retryAfter);
    }, next);
  };
}

async function take(limiter: Limiter, key: string, res: Response, what: string): Promise<void> {
  const retryAfter = await limiter.take(key);
  if (retryAfter === null) return;
  res.set('Retry-After', String(retryAfter));
  throw new RateLimitedError(`${what}: try again in ${retryAfter} s`, retryAfter);
}

function safeDecode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/**
 * The address a request came from, as the nearest proxy saw it: the last X-Forwarded-For entry
 * (the one our proxy appended), else the socket's peer. The first entry is whatever the client
 * claims, so a limit keyed on it could be dodged by sending a new one each time.
 */
export function clientAddress(req: Request): string {
  const forwarded = req.get('x-forwarded-for')?.split(',').at(-1)?.trim();
  return forwarded || req.socket.remoteAddress || 'unknown';
}

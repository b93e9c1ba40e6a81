import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../logger.ts';
import { type DomainErrorCode, isDomainError, ValidationError } from '../shared/errors.ts';

export const STATUS_BY_CODE: Record<DomainErrorCode, number> = {
  validation: 422,
  not_found: 404,
  forbidden: 403,
  unauthenticated: 401,
  insufficient_funds: 402,
  spending_limit: 402,
  conflict: 409,
  rate_limited: 429,
};

export interface ApiErrorBody {
  error: {
    code: DomainErrorCode | 'bad_request' | 'method_not_allowed' | 'unsupported_media_type' | 'internal';
    message: string;
    field?: string;
  };
}

/** The status and body for any error: domain errors say what is wrong, anything else is a 500 without details. */
export function describeError(error: unknown): { status: number; body: ApiErrorBody } {
  if (isDomainError(error)) {
    return {
      status: STATUS_BY_CODE[error.code],
      body: {
        error: {
          code: error.code,
          message: error.message,
          ...(error instanceof ValidationError ? { field: error.field } : {}),
        },
      },
    };
  }
  const e = error as { type?: string; status?: number; expose?: boolean; message?: string };
  if (e?.type === 'entity.parse.failed') {
    return {
      status: 400,
      body: { error: { code: 'bad_request', message: 'The request body is not valid JSON' } },
    };
  }
  if (e?.type === 'entity.too.large') {
    return {
      status: 413,
      body: { error: { code: 'bad_request', message: 'The request body is too large' } },
    };
  }
  // Express's own refusals (a path that is not valid percent-encoding, an unsupported charset…).
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && e.expose) {
    return { status: e.status, body: { error: { code: 'bad_request', message: String(e.message) } } };
  }
  return {
    status: 500,
    body: { error: { code: 'internal', message: 'Something went wrong on our side; it has been logged' } },
  };
}

/** Express error handler for the native API: the JSON shape of describeError, and a log line for 500s. */
export function apiErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const { status, body } = describeError(error);
    if (status >= 500) logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    // A streamed body (a CSV statement) failed halfway: cut it short rather than let it look complete.
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // RFC 9110: a 401 names the scheme that would work.
    if (status === 401) res.set('WWW-Authenticate', 'Bearer realm="teamops"');
    res.status(status).json(body);
  };
}

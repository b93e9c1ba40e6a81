import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../logger.ts';
import { httpRequestDuration } from '../platform/metrics.ts';
import { type RequestContext, requestIdFrom, runInRequestContext } from '../platform/request-context.ts';

/**
 * One JSON line per HTTP request, and the request's duration in the metrics. The line names the
 * route template (never the URL: invitation tokens and webhook secrets travel in paths), the
 * status, the duration and who called (API key member or Slack workspace) — never a key, a
 * token or a body. The request id comes from X-Request-Id or is made here, is echoed back,
 * and is on every log line written while the request is served.
 */
export function requestLog(logger: Logger): RequestHandler {
  const log = pinoHttp<IncomingMessage, ServerResponse>({
    logger: logger.child({ component: 'http' }),
    // The id is the request context's; the mixin puts it on every line, this one included.
    genReqId: (req) => contextOf(req)?.requestId ?? requestIdFrom(req.headers['x-request-id']),
    customAttributeKeys: { responseTime: 'durationMs' },
    serializers: {
      req: (req: { method: string }) => ({ method: req.method }),
      res: (res: { statusCode: number }) => ({ status: res.statusCode }),
    },
    wrapSerializers: false,
    // Probes and scrapes come every few seconds: at debug, unless they fail.
    customLogLevel: (req, res, error) =>
      error || res.statusCode >= 500
        ? 'error'
        : res.statusCode < 400 && PROBES.has(req.url ?? '')
          ? 'debug'
          : 'info',
    customSuccessMessage: () => 'request completed',
    customErrorMessage: () => 'request failed',
    customProps: (req) => {
      const context = contextOf(req);
      return {
        route: routeTemplate(req as Request),
        ...(context?.memberId !== undefined ? { memberId: context.memberId } : {}),
        ...(context?.slackTeam ? { slackTeam: context.slackTeam } : {}),
      };
    },
  });
  return (req, res, next) => {
    const context: RequestContext = { requestId: requestIdFrom(req.headers['x-request-id']) };
    contexts.set(req, context);
    res.setHeader('X-Request-Id', context.requestId);
    const started = performance.now();
    res.once('finish', () => {
      httpRequestDuration.observe(
        { method: req.method, route: routeTemplate(req), status: String(res.statusCode) },
        (performance.now() - started) / 1000,
      );
    });
    runInRequestContext(context, () => log(req, res, next));
  };
}

const PROBES = new Set(['/healthz', '/readyz', '/metrics']);

const contexts = new WeakMap<IncomingMessage, RequestContext>();

function contextOf(req: IncomingMessage): RequestContext | undefined {
  const context = contexts.get(req);
  // The API key's member is known only once the route has authenticated it.
  const member = (req as Request).member;
  if (context && member) context.memberId = member.id;
  return context;
}

// Mounted apps whose inner routes are not Express routes; their paths are one family each.
const PREFIXES = ['/admin/queues', '/docs'];

/** `/api/v1/members/:id`, not `/api/v1/members/42`: bounded label values, no secrets. */
export function routeTemplate(req: Request): string {
  if (req.route?.path && typeof req.route.path === 'string') return `${req.baseUrl}${req.route.path}`;
  const prefix = PREFIXES.find((p) => req.originalUrl === p || req.originalUrl.startsWith(`${p}/`));
  return prefix ? `${prefix}/*` : 'unmatched';
}

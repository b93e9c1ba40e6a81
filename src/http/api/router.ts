import express, { type Request, type Response, type Router } from 'express';
import type { AppDeps } from '../../app.ts';
import { apiErrorHandler } from '../errors.ts';
import { limitPerApiKey, rejectInvalidText } from '../request-guard.ts';
import { requireApiKey } from './auth.ts';

/** A feature's routes under /api/v1, registered on the authenticated router. */
export type RouteModule = { register(router: Router, deps: AppDeps): void };

/**
 * The native REST API: bearer API key, JSON in and out, errors as `{error: {code, message, field?}}`.
 * HTTP's own conventions hold for every route: a body that is not JSON is 415, a known path with
 * the wrong method is 405 with `Allow`, a 401 carries `WWW-Authenticate: Bearer`.
 */
export function createApiRouter(deps: AppDeps, modules: RouteModule[]): Router {
  const router = express.Router();
  router.use(refuseNonJsonBodies);
  router.use(express.json({ limit: '1mb' }));
  router.use(requireApiKey(deps.services), limitPerApiKey, rejectInvalidText);
  for (const module of modules) module.register(router, deps);
  const allowed = methodsByPath(router);
  router.use((req, res) => {
    const methods = allowed.find(({ pattern }) => pattern.test(req.path))?.methods;
    if (methods) {
      res.set('Allow', methods.join(', '));
      res.status(405).json({
        error: {
          code: 'method_not_allowed',
          message: `${req.method} is not allowed on ${req.baseUrl}${req.path}; use ${methods.join(' or ')}`,
        },
      });
      return;
    }
    res.status(404).json({
      error: { code: 'not_found', message: `No such endpoint: ${req.method} ${req.baseUrl}${req.path}` },
    });
  });
  router.use(apiErrorHandler(deps.logger));
  return router;
}

/** Without this, a form body would reach the handler as no body and be answered "name is required". */
function refuseNonJsonBodies(req: Request, res: Response, next: () => void): void {
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  if (!hasBody || req.is(['application/json', '+json'])) {
    next();
    return;
  }
  res.status(415).json({
    error: {
      code: 'unsupported_media_type',
      message: `Send the body as JSON with "Content-Type: application/json" (got ${req.get('content-type') ?? 'no content type'})`,
    },
  });
}

/** The methods each registered path answers to, for 405's `Allow`. */
function methodsByPath(router: Router): { pattern: RegExp; methods: string[] }[] {
  const byPath = new Map<string, Set<string>>();
  for (const layer of router.stack as Array<{ route?: { path: string; methods: Record<string, boolean> } }>) {
    if (!layer.route) continue;
    const methods = byPath.get(layer.route.path) ?? new Set<string>();
    for (const method of Object.keys(layer.route.methods)) methods.add(method.toUpperCase());
    if (methods.has('GET')) methods.add('HEAD');
    byPath.set(layer.route.path, methods);
  }
  return [...byPath].map(([path, methods]) => ({
    pattern: new RegExp(`^${path.replace(/:\w+/g, '[^/]+')}/?$`),
    methods: [...methods].sort(),
  }));
}

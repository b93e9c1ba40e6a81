import express, { type Router } from 'express';
import type { AppDeps } from '../../app.ts';
import { apiErrorHandler } from '../errors.ts';
import { limitPerApiKey, rejectInvalidText } from '../request-guard.ts';
import { requireApiKey } from './auth.ts';

/** A feature's routes under /api/v1, registered on the authenticated router. */
export type RouteModule = { register(router: Router, deps: AppDeps): void };

/** The native REST API: bearer API key, JSON in and out, errors as `{error: {code, message, field?}}`. */
export function createApiRouter(deps: AppDeps, modules: RouteModule[]): Router {
  const router = express.Router();
  router.use(express.json({ limit: '1mb' }));
  router.use(requireApiKey(deps.services), limitPerApiKey, rejectInvalidText);
  for (const module of modules) module.register(router, deps);
  router.use((req, res) => {
    res.status(404).json({
      error: { code: 'not_found', message: `No such endpoint: ${req.method} ${req.baseUrl}${req.path}` },
    });
  });
  router.use(apiErrorHandler(deps.logger));
  return router;
}

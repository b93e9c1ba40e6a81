import { readdirSync } from 'node:fs';
import type { Router } from 'express';
import { describe, expect, it } from 'vitest';
import type { AppDeps } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { HTTP_METHODS, type HttpMethod, openApiDocument } from '../../src/http/api/openapi.ts';
import { createApiRouter, type RouteModule } from '../../src/http/api/router.ts';
import { createLogger } from '../../src/logger.ts';
import { useServices } from '../helpers/services.ts';
import { useHttp } from './helpers.ts';

const h = useServices();
const http = useHttp(h);

/** Served outside the authenticated router, by its own mount. */
const OUTSIDE_ROUTER = new Set(['GET /openapi.json']);

/** Every *.routes.ts under src/http/api: a new route file is covered without editing this test. */
async function nativeRouteModules(): Promise<RouteModule[]> {
  const folder = new URL('../../src/http/api/', import.meta.url);
  const files = readdirSync(folder).filter((file) => file.endsWith('.routes.ts'));
  return Promise.all(files.map((file) => import(new URL(file, folder).href) as Promise<RouteModule>));
}

/** "POST /members/{member}/credit" for every route the native router really registers. */
function registeredRoutes(router: Router): string[] {
  const routes: string[] = [];
  for (const layer of router.stack as Array<{ route?: { path: string; methods: Record<string, boolean> } }>) {
    if (!layer.route) continue;
    for (const method of Object.keys(layer.route.methods)) {
      routes.push(`${method.toUpperCase()} ${layer.route.path.replace(/:(\w+)/g, '{$1}')}`);
    }
  }
  return routes.sort();
}

function documentedRoutes(): string[] {
  return Object.entries(openApiDocument.paths)
    .flatMap(([path, item]) => HTTP_METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
}

describe('GET /api/v1/openapi.json', () => {
  it('is served without an API key', async () => {
    const res = await http.request('GET', '/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ openapi: '3.1.0', servers: [{ url: '/api/v1' }] });
    expect(res.json.paths['/members/{member}/credit'].post.operationId).toBe('creditMember');
  });

  it('documents exactly the routes the native router registers', async () => {
    const deps = {
      config: loadConfig({}),
      logger: createLogger('silent'),
      orm: h.orm,
      services: h.services,
    } satisfies AppDeps;
    const router = createApiRouter(deps, await nativeRouteModules());
    const registered = registeredRoutes(router);
    expect(registered.length).toBeGreaterThan(20);
    expect(documentedRoutes().filter((r) => !OUTSIDE_ROUTER.has(r))).toEqual(registered);
  });
});

describe('the OpenAPI document', () => {
  const operations = Object.entries(openApiDocument.paths).flatMap(([path, item]) =>
    HTTP_METHODS.filter((m) => item[m]).map((m) => ({ path, method: m as HttpMethod, op: item[m]! })),
  );

  it('declares every path parameter of every operation, and no others', () => {
    for (const { path, method, op } of operations) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? [])
        .filter((p) => p.in === 'path')
        .map((p) => p.name)
        .sort();
      expect(declared, `${method.toUpperCase()} ${path}`).toEqual(inPath);
    }
  });

  it('refers only to schemas it defines, and gives every operation a unique id', () => {
    const refs = [...JSON.stringify(openApiDocument).matchAll(/"#\/components\/schemas\/(\w+)"/g)].map(
      (m) => m[1],
    );
    expect(refs.length).toBeGreaterThan(0);
    for (const name of new Set(refs)) expect(openApiDocument.components.schemas).toHaveProperty(name!);
    const ids = operations.map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll } from 'vitest';
import type { AppDeps } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { createApiRouter, type RouteModule } from '../../src/http/api/router.ts';
import { createLogger } from '../../src/logger.ts';
import type { ServiceHarness } from './services.ts';

export interface ApiResponse {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by the assertions
  json: any;
}

export interface ApiClient {
  call(
    method: string,
    path: string,
    key: string | null,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiResponse>;
  /** A GET whose body the test reads itself (a CSV statement, a stream cut short). */
  get(path: string, key: string | null, init?: RequestInit): Promise<Response>;
}

/** The native API (/api/v1 with the given route modules) on a real HTTP port, for this file's lifetime. */
export function useApi(harness: ServiceHarness, routes: RouteModule[]): ApiClient {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    const deps: AppDeps = {
      config: loadConfig({}),
      logger: createLogger('silent'),
      orm: harness.orm,
      services: harness.services,
    };
    const app = express();
    app.use('/api/v1', createApiRouter(deps, routes));
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));
  return {
    get(path, key, init = {}) {
      return fetch(`${base}${path}`, {
        ...init,
        headers: key ? { authorization: `Bearer ${key}` } : {},
      });
    },
    async call(method, path, key, body, headers = {}) {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: {
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : null };
    },
  };
}

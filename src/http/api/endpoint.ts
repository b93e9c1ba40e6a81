import type { Request, Response, Router } from 'express';
import type { z } from 'zod';
import type { AppDeps, Services } from '../../app.ts';
import type { Actor } from '../../shared/actor.ts';
import { ValidationError } from '../../shared/errors.ts';
import { actorOf } from './request.ts';

/** The error statuses an operation can answer with, besides the 401 every call can. */
export type ErrorStatus = '402' | '403' | '404' | '409' | '422';

export interface ResponseSpec {
  description: string;
  schema?: z.ZodType;
  /** What the body is when not JSON (a CSV statement). */
  mediaType?: string;
  /** Carries Idempotent-Replayed when it replays an earlier request. */
  replayed?: boolean;
}

type Shape = z.ZodObject;

/**
 * One operation of the native API: its documentation, the schemas its input is parsed with,
 * and its handler. The router registers it and openapi.ts documents it, from the same object.
 */
export interface Endpoint<P extends Shape = Shape, Q extends Shape = Shape, B extends z.ZodType = z.ZodType> {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI style: `/members/{member}`. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  /** Reads an Idempotency-Key header. */
  idempotent?: boolean;
  responses: Record<string, ResponseSpec>;
  errors: readonly ErrorStatus[];
  handle(call: {
    params: z.output<P>;
    query: z.output<Q>;
    body: z.output<B>;
    actor: Actor;
    services: Services;
    req: Request;
    res: Response;
  }): Promise<void>;
}

// biome-ignore lint/suspicious/noExplicitAny: a list of endpoints of different shapes
export type AnyEndpoint = Endpoint<any, any, any>;

/** Keeps an endpoint's handler typed by its own schemas. */
export function endpoint<P extends Shape, Q extends Shape, B extends z.ZodType>(
  spec: Endpoint<P, Q, B>,
): AnyEndpoint {
  return spec;
}

/** Express's `:member` for OpenAPI's `{member}`. */
export function expressPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ':$1');
}

export function registerEndpoints(
  router: Router,
  { services }: AppDeps,
  endpoints: readonly AnyEndpoint[],
): void {
  for (const e of endpoints) {
    router[e.method](expressPath(e.path), async (req, res) => {
      const params = e.params ? parse(e.params, req.params) : {};
      const query = e.query ? parse(e.query, req.query) : {};
      const body = e.body ? parse(e.body, req.body ?? {}) : undefined;
      await e.handle({ params, query, body, actor: actorOf(req), services, req, res });
    });
  }
}

/** Parses input with its schema; the first problem becomes a 422 naming the field. */
export function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.map(String).join('.') || 'body';
  throw new ValidationError(field, messageFor(field, issue));
}

function messageFor(field: string, issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return `${field} is required`;
  if (issue.message.startsWith('must')) return `${field} ${issue.message}`;
  if (issue.message.startsWith(field)) return issue.message;
  return `${field}: ${issue.message}`;
}

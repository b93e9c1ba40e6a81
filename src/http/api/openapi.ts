import type { Express } from 'express';
import { z } from 'zod';
import { endpoints as creditRequests } from './credit-requests.routes.ts';
import type { AnyEndpoint, ErrorStatus } from './endpoint.ts';
import { endpoints as members } from './members.routes.ts';
import { endpoints as messaging } from './messaging.routes.ts';
import { ApiError } from './schemas.ts';
import { endpoints as statements } from './statements.routes.ts';
import { endpoints as stats } from './stats.routes.ts';
import { endpoints as teamAdmin } from './team-admin.routes.ts';

/**
 * /api/v1/openapi.json, generated from the endpoints themselves: the zod schemas that parse a
 * request are the ones documented (zod 4's JSON Schema output, draft 2020-12 as OpenAPI 3.1
 * uses), so the document cannot drift from what the API accepts.
 */

export const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

type JsonSchema = Record<string, unknown>;

export interface Operation {
  operationId: string;
  summary: string;
  tags: string[];
  security?: Record<string, string[]>[];
  parameters?: { name: string; in: 'path' | 'query' | 'header'; required: boolean; schema: JsonSchema }[];
  requestBody?: { required: boolean; content: { 'application/json': { schema: JsonSchema } } };
  responses: Record<string, unknown>;
}

export type PathItem = Partial<Record<HttpMethod, Operation>>;

/** Every operation of the native API, in the order they are registered. */
export const API_ENDPOINTS: readonly AnyEndpoint[] = [
  ...members,
  ...teamAdmin,
  ...creditRequests,
  ...messaging,
  ...stats,
  ...statements,
];

const ERROR_DESCRIPTIONS: Record<'401' | ErrorStatus | '405' | '415' | '429', string> = {
  '401': 'No API key, or a key that is not valid',
  '402': 'Not enough money on the balance that would pay',
  '403': 'The caller may not do this, or its sub-account is not active',
  '404': 'No such member, invitation, request or message in the caller’s team',
  '405': 'The path exists but not with this method; `Allow` lists those it has',
  '409': 'The request contradicts the current state (already exists, wrong status, reused idempotency key)',
  '415': 'A request body that is not JSON',
  '422': 'Input that is malformed or out of range; `field` names it',
  '429': 'Too many requests with this API key; `Retry-After` says in how many seconds to try again',
};

const REPLAYED_HEADER = {
  'Idempotent-Replayed': {
    description: '"true" when this answer replays an earlier request with the same Idempotency-Key',
    schema: { type: 'string' },
  },
};

const IDEMPOTENCY_KEY = {
  name: 'Idempotency-Key',
  in: 'header' as const,
  required: false,
  description:
    'Retrying with the same key never applies the request twice (1-200 printable ASCII characters)',
  schema: { type: 'string' },
};

/** Named schemas met while converting, for components.schemas. */
class Components {
  readonly schemas: Record<string, JsonSchema> = {};

  /** JSON Schema of a zod schema; its named parts go to components and are referred to. */
  convert(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const converted = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io,
      unrepresentable: 'any',
      // zod states the safe-integer range of every integer; it says nothing a reader needs.
      override: ({ jsonSchema }) => {
        if (jsonSchema.minimum === Number.MIN_SAFE_INTEGER) delete jsonSchema.minimum;
        if (jsonSchema.maximum === Number.MAX_SAFE_INTEGER) delete jsonSchema.maximum;
      },
    }) as JsonSchema & { $defs?: Record<string, JsonSchema> };
    const { $defs, $schema: _, ...root } = converted;
    for (const [name, def] of Object.entries($defs ?? {})) this.schemas[name] = relink(def);
    const id = z.globalRegistry.get(schema)?.id;
    if (id) {
      // A named root comes back as a reference to itself in $defs, or inline.
      if (!root.$ref) this.schemas[id] = relink(root);
      return { $ref: `#/components/schemas/${id}` };
    }
    return relink(root);
  }
}

function relink(schema: JsonSchema): JsonSchema {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/$defs/', '"#/components/schemas/')) as JsonSchema;
}

function parameters(shape: z.ZodObject | undefined, where: 'path' | 'query', components: Components) {
  if (!shape) return [];
  return Object.entries(shape.shape).map(([name, schema]) => {
    const json = components.convert(schema as z.ZodType, 'input');
    const { description, ...rest } = json as JsonSchema & { description?: string };
    return {
      name,
      in: where,
      required: where === 'path' || !(schema as z.ZodType).safeParse(undefined).success,
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

function operation(e: AnyEndpoint, components: Components): Operation {
  const responses: Record<string, unknown> = {};
  for (const [status, spec] of Object.entries(e.responses)) {
    responses[status] = {
      description: spec.description,
      ...(spec.replayed ? { headers: REPLAYED_HEADER } : {}),
      ...(spec.schema
        ? {
            content: {
              [spec.mediaType ?? 'application/json']: { schema: components.convert(spec.schema, 'output') },
            },
          }
        : {}),
    };
  }
  const error = { 'application/json': { schema: components.convert(ApiError, 'output') } };
  const statuses: (keyof typeof ERROR_DESCRIPTIONS)[] = [
    '401',
    ...e.errors,
    ...(e.body ? (['415'] as const) : []),
    '429',
  ];
  for (const status of statuses)
    responses[status] = { description: ERROR_DESCRIPTIONS[status], content: error };
  const params = [
    ...parameters(e.params, 'path', components),
    ...parameters(e.query, 'query', components),
    ...(e.idempotent ? [IDEMPOTENCY_KEY] : []),
  ];
  return {
    operationId: e.operationId,
    summary: e.summary,
    tags: [e.tag],
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(e.body
      ? {
          requestBody: {
            required: true,
            content: { 'application/json': { schema: components.convert(e.body, 'input') } },
          },
        }
      : {}),
    responses,
  };
}

function buildDocument(endpoints: readonly AnyEndpoint[]) {
  const components = new Components();
  const paths: Record<string, PathItem> = {
    '/openapi.json': {
      get: {
        operationId: 'getOpenApi',
        summary: 'This document',
        tags: ['meta'],
        security: [],
        responses: {
          '200': {
            description: 'The OpenAPI 3.1 document of /api/v1',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
  };
  for (const e of endpoints) {
    paths[e.path] ??= {};
    paths[e.path]![e.method] = operation(e, components);
  }
  return {
    openapi: '3.1.0' as const,
    info: {
      title: 'teamops',
      version: '1',
      description:
        'Team and sub-account management for an SMS platform. Authenticate with a member’s API key as ' +
        '`Authorization: Bearer <key>`; every call acts as that member. Money is an exact decimal string ' +
        'in the team’s currency. Every list pages the same way: `?cursor=&limit=` in, `next_cursor` out ' +
        '(null on the last page). The Textmagic-, SMS.to- and Vonage-compatible APIs are described in docs/api.md.',
    },
    servers: [{ url: '/api/v1' }],
    security: [{ apiKey: [] }],
    tags: [
      { name: 'team', description: 'The master account' },
      { name: 'members', description: 'Sub-accounts' },
      { name: 'money', description: 'Credit, debit, auto-recharge and the ledger' },
      { name: 'invitations', description: 'Inviting people by email' },
      { name: 'roles', description: 'Role changes gated by approval' },
      { name: 'credit requests', description: 'A member asks for credit; the owner or an admin decides' },
      { name: 'messaging', description: 'Sending SMS and the message log' },
      { name: 'stats', description: 'Statistics per member' },
      { name: 'meta', description: 'This document' },
    ],
    paths,
    components: {
      securitySchemes: {
        apiKey: {
          type: 'http' as const,
          scheme: 'bearer' as const,
          description: 'A member’s API key (tok_…)',
        },
      },
      schemas: components.schemas,
    },
  };
}

export const openApiDocument = buildDocument(API_ENDPOINTS);

/** GET /api/v1/openapi.json without authentication; mounted before the authenticated router. */
export function mountOpenApiDocument(app: Express): void {
  app.get('/api/v1/openapi.json', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300');
    res.json(openApiDocument);
  });
}

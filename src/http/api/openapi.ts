import type { Express } from 'express';
import { DELIVERY_STATUSES, INVITATION_STATUSES } from '../../invitations/invitation.entity.ts';
import { TRANSFER_KINDS } from '../../ledger/transfer.entity.ts';
import { MEMBER_STATUSES, ROLES } from '../../members/member.entity.ts';
import { ENCODINGS, MESSAGE_STATUSES } from '../../messaging/message.entity.ts';
import { GROUPINGS, PERIODS } from '../../stats/stats.service.ts';

/** The parts of OpenAPI 3.1 this document uses; schemas are JSON Schema 2020-12. */
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers: { url: string }[];
  security: Record<string, string[]>[];
  tags: { name: string; description: string }[];
  paths: Record<string, PathItem>;
  components: {
    securitySchemes: Record<string, { type: 'http'; scheme: 'bearer'; description: string }>;
    schemas: Record<string, Schema>;
  };
}

export const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
export type PathItem = Partial<Record<HttpMethod, Operation>>;

export interface Operation {
  operationId: string;
  summary: string;
  tags: string[];
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: { 'application/json': { schema: Schema } } };
  responses: Record<string, Response>;
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  description: string;
  schema: Schema;
}

interface Response {
  description: string;
  headers?: Record<string, { description: string; schema: Schema }>;
  content?: { 'application/json': { schema: Schema } };
}

export interface Schema {
  $ref?: string;
  type?: string | string[];
  description?: string;
  format?: string;
  pattern?: string;
  enum?: readonly (string | number | null)[];
  const?: unknown;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: boolean | Schema;
  oneOf?: Schema[];
  allOf?: Schema[];
  minimum?: number;
  maximum?: number;
  examples?: unknown[];
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const nullable = (schema: Schema): Schema => ({ oneOf: [schema, { type: 'null' }] });
const string = (description?: string): Schema => ({
  type: 'string',
  ...(description ? { description } : {}),
});
const integer = (description?: string): Schema => ({
  type: 'integer',
  ...(description ? { description } : {}),
});
const dateTime: Schema = { type: 'string', format: 'date-time' };
const money: Schema = ref('Money');
const object = (properties: Record<string, Schema>, description?: string): Schema => ({
  type: 'object',
  ...(description ? { description } : {}),
  properties,
  required: Object.keys(properties),
});
const listOf = (item: Schema, extra: Record<string, Schema> = {}): Schema =>
  object({ items: { type: 'array', items: item }, ...extra });

const json = (schema: Schema) => ({ 'application/json': { schema } });
const ok = (description: string, schema: Schema): Response => ({ description, content: json(schema) });
const body = (schema: Schema) => ({ required: true, content: json(schema) });

const memberParam: Parameter = {
  name: 'member',
  in: 'path',
  required: true,
  description: 'A member id, or its email',
  schema: { type: 'string', examples: ['42', 'sales@acme.test'] },
};
const idParam = (description: string): Parameter => ({
  name: 'id',
  in: 'path',
  required: true,
  description,
  schema: { type: 'string', pattern: '^\\d+$' },
});
const query = (name: string, description: string, schema: Schema = { type: 'string' }): Parameter => ({
  name,
  in: 'query',
  required: false,
  description,
  schema,
});
const idempotencyKey: Parameter = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Retrying with the same key never applies the request twice (1-200 printable ASCII characters)',
  schema: { type: 'string' },
};
const replayedHeader = {
  'Idempotent-Replayed': {
    description: '"true" when this answer replays an earlier request with the same Idempotency-Key',
    schema: { type: 'string' },
  },
};

const ERROR_DESCRIPTIONS: Record<string, string> = {
  '401': 'No API key, or a key that is not valid',
  '402': 'Not enough money on the balance that would pay',
  '403': 'The caller may not do this, or its sub-account is not active',
  '404': 'No such member, invitation, request or message in the caller’s team',
  '409': 'The request contradicts the current state (already exists, wrong status, reused idempotency key)',
  '422': 'Input that is malformed or out of range; `field` names it',
};

/** The error responses an operation can give, besides the 401 every call can. */
function errors(...statuses: Array<'402' | '403' | '404' | '409' | '422'>): Record<string, Response> {
  const out: Record<string, Response> = {};
  for (const status of ['401', ...statuses]) {
    out[status] = ok(ERROR_DESCRIPTIONS[status]!, ref('Error'));
  }
  return out;
}

function operation(
  tag: string,
  operationId: string,
  summary: string,
  rest: Omit<Operation, 'operationId' | 'summary' | 'tags'>,
): Operation {
  return { operationId, summary, tags: [tag], ...rest };
}

const schemas: Record<string, Schema> = {
  Money: {
    type: 'string',
    pattern: '^-?\\d+\\.\\d{2,6}$',
    description: 'An exact decimal amount in the team’s currency, at least 2 and at most 6 decimals',
    examples: ['12.50', '0.075'],
  },
  MoneyInput: {
    oneOf: [
      { type: 'string', pattern: '^\\d+(\\.\\d{1,6})?$' },
      { type: 'number', minimum: 0 },
    ],
    description: 'A positive amount: a decimal string or a JSON number, at most 6 decimals',
    examples: ['50', 12.5],
  },
  Error: object({
    error: {
      type: 'object',
      properties: {
        code: {
          type: 'string',
          enum: [
            'validation',
            'not_found',
            'forbidden',
            'unauthenticated',
            'insufficient_funds',
            'conflict',
            'bad_request',
            'internal',
          ],
        },
        message: string('What is wrong, written for the person who asked'),
        field: string('For validation errors: the input at fault'),
      },
      required: ['code', 'message'],
    },
  }),
  Team: object({
    id: integer(),
    name: string(),
    currency: string('ISO 4217 code'),
    master_balance: money,
    slack_team_id: nullable(string()),
    alerts_channel: nullable(string()),
    low_balance_level: money,
    created_at: dateTime,
  }),
  Member: object({
    id: integer(),
    name: string(),
    email: nullable(string()),
    role: { type: 'string', enum: ROLES },
    status: { type: 'string', enum: MEMBER_STATUSES },
    balance: money,
    api_key: string('The key, masked: only its first characters'),
    slack_user_id: nullable(string()),
    username: string('Login name for Textmagic clients; unique, changeable'),
    key_id: string('Public account id (8 hex characters): the api_key of Vonage clients'),
    shares_master_balance: { type: 'boolean', description: 'Sends are paid from the master balance' },
    created_at: dateTime,
    closed_at: nullable(dateTime),
  }),
  MemberWithKey: {
    allOf: [ref('Member'), object({ api_key: string('The full API key: shown this once, never again') })],
  },
  MemberDetails: {
    allOf: [ref('Member'), object({ auto_recharge: nullable(ref('AutoRechargeSettings')) })],
  },
  ClosedMember: {
    allOf: [ref('Member'), object({ returned_to_master: money })],
  },
  AutoRechargeSettings: object({ threshold: money, amount: money, daily_cap: nullable(money) }),
  AutoRechargeRule: object({
    member_id: integer(),
    threshold: money,
    amount: money,
    daily_cap: nullable(money),
  }),
  MoveResult: object({
    transfer_id: string(),
    kind: { type: 'string', enum: ['credit', 'debit'] },
    amount: money,
    currency: string(),
    member: ref('Member'),
    master_balance: money,
    replayed: { type: 'boolean' },
  }),
  Transfer: object({
    id: string(),
    kind: { type: 'string', enum: TRANSFER_KINDS },
    amount: money,
    from_member_id: nullable(integer('null: the master balance, or outside for top-ups and charges')),
    to_member_id: nullable(integer()),
    reason: nullable(string()),
    via: string(),
    master_balance_after: nullable(money),
    member_balance_after: nullable(money),
    created_at: dateTime,
  }),
  Invitation: object({
    id: integer(),
    email: nullable(string()),
    role: { type: 'string', enum: ['admin', 'user'] },
    status: { type: 'string', enum: INVITATION_STATUSES },
    delivery_status: {
      type: 'string',
      enum: DELIVERY_STATUSES,
      description: 'queued until delivered (sent) or given up (failed); stays queued while attempts remain',
    },
    delivery_error: nullable(
      string(
        'The last failed attempt’s reason: while retrying (still queued) and once failed; null once sent',
      ),
    ),
    delivery_attempts: integer('Delivery attempts made so far'),
    delivery_max_attempts: nullable(integer('How many attempts delivery gets in all; null before the first')),
    invited_by: nullable(string()),
    member_id: integer('The reserved sub-account, status invited until accepted'),
    expires_at: dateTime,
    created_at: dateTime,
  }),
  RoleRequest: object({
    id: integer(),
    member: object({ id: integer(), name: string() }),
    from_role: { type: 'string', enum: ROLES },
    to_role: { type: 'string', enum: ROLES },
    status: { type: 'string', enum: ['pending', 'approved', 'denied'] },
    requested_by: object({ id: integer(), name: string() }),
    decided_by: nullable(object({ id: integer(), name: string() })),
    decided_at: nullable(dateTime),
    created_at: dateTime,
  }),
  AuditEvent: object({
    id: string(),
    action: string(),
    actor: object({ kind: string(), member_id: nullable(integer()) }),
    via: string(),
    subject_member_id: nullable(integer()),
    details: { type: 'object', additionalProperties: true },
    created_at: dateTime,
  }),
  SentMessage: object({
    id: string(),
    to: string('E.164'),
    parts: integer(),
    cost: money,
    status: { type: 'string', enum: MESSAGE_STATUSES },
    balance: money,
    currency: string(),
  }),
  LoggedMessage: object({
    id: string(),
    member: object({ id: integer(), name: string() }),
    to: string(),
    message: string(),
    sender_id: nullable(string()),
    encoding: { type: 'string', enum: ENCODINGS },
    parts: integer(),
    unit_price: money,
    cost: money,
    status: { type: 'string', enum: MESSAGE_STATUSES },
    error: nullable(string()),
    refunded: { type: 'boolean' },
    created_at: dateTime,
    sent_at: nullable(dateTime),
    finished_at: nullable(dateTime),
  }),
  StatsTotals: object({
    messages: integer(),
    parts: integer(),
    cost: money,
    charged: money,
    refunded: money,
    delivered: integer(),
    failed: integer(),
    pending: integer(),
  }),
  StatsDay: { allOf: [object({ day: { type: 'string', format: 'date' } }), ref('StatsTotals')] },
  Stats: object({
    currency: string(),
    from: { type: 'string', format: 'date' },
    to: { type: 'string', format: 'date' },
    group_by: { type: 'string', enum: GROUPINGS },
    team: nullable({
      allOf: [
        ref('StatsTotals'),
        { type: 'object', properties: { days: { type: 'array', items: ref('StatsDay') } } },
      ],
      description: 'The whole team; null when the question was about one member or asked by a user',
    }),
    members: {
      type: 'array',
      items: {
        allOf: [
          object({ member: object({ id: integer(), name: string() }) }),
          ref('StatsTotals'),
          { type: 'object', properties: { days: { type: 'array', items: ref('StatsDay') } } },
        ],
      },
    },
  }),
};

const paths: Record<string, PathItem> = {
  '/openapi.json': {
    get: operation('meta', 'getOpenApi', 'This document', {
      security: [],
      responses: { '200': ok('The OpenAPI 3.1 document of /api/v1', { type: 'object' }) },
    }),
  },
  '/team': {
    get: operation('team', 'getTeam', 'The caller’s team and its master balance', {
      responses: { '200': ok('The team', ref('Team')), ...errors('403') },
    }),
  },
  '/members': {
    get: operation('members', 'listMembers', 'The team page: every sub-account (a user sees only its own)', {
      parameters: [
        query('status', 'Only members with this status', { type: 'string', enum: MEMBER_STATUSES }),
        query('page', 'Page number, from 1', { type: 'integer', minimum: 1 }),
        query('limit', 'Members per page (default 20, at most 100)', {
          type: 'integer',
          minimum: 1,
          maximum: 100,
        }),
      ],
      responses: {
        '200': ok(
          'One page of members',
          listOf(ref('Member'), { total: integer(), page: integer(), limit: integer() }),
        ),
        ...errors('403', '422'),
      },
    }),
    post: operation(
      'members',
      'createMember',
      'Create an auto-generated sub-account; its API key is shown once',
      {
        requestBody: body({
          type: 'object',
          properties: { name: string(), email: string() },
          required: ['name'],
        }),
        responses: {
          '201': ok('The new member with its full key', ref('MemberWithKey')),
          ...errors('403', '409', '422'),
        },
      },
    ),
  },
  '/members/{member}': {
    get: operation('members', 'getMember', 'One member, with its auto-recharge rule', {
      parameters: [memberParam],
      responses: { '200': ok('The member', ref('MemberDetails')), ...errors('403', '404', '422') },
    }),
    patch: operation(
      'members',
      'updateMember',
      'Rename a member, change its username (members may change their own), or switch how its sends are paid',
      {
        parameters: [memberParam],
        requestBody: body({
          type: 'object',
          properties: {
            name: string(),
            username: string(),
            shares_master_balance: { type: 'boolean' },
          },
        }),
        responses: { '200': ok('The member', ref('Member')), ...errors('403', '404', '409', '422') },
      },
    ),
    delete: operation('members', 'closeMember', 'Close a sub-account: its balance returns to the master', {
      parameters: [memberParam],
      responses: {
        '200': ok('The closed member', ref('ClosedMember')),
        ...errors('403', '404', '409', '422'),
      },
    }),
  },
  '/members/{member}/enable': {
    post: operation('members', 'enableMember', 'Activate a member', {
      parameters: [memberParam],
      responses: { '200': ok('The member', ref('Member')), ...errors('403', '404', '409', '422') },
    }),
  },
  '/members/{member}/disable': {
    post: operation('members', 'disableMember', 'Deactivate a member: its key is refused until enabled', {
      parameters: [memberParam],
      responses: { '200': ok('The member', ref('Member')), ...errors('403', '404', '409', '422') },
    }),
  },
  '/members/{member}/key': {
    post: operation('members', 'rotateKey', 'Rotate the member’s API key; the new key is shown once', {
      parameters: [memberParam],
      responses: {
        '200': ok('The member with its new key', ref('MemberWithKey')),
        ...errors('403', '404', '409', '422'),
      },
    }),
  },
  '/members/{member}/credit': {
    post: moneyOperation('creditMember', 'Move money from the master balance to the member'),
  },
  '/members/{member}/debit': {
    post: moneyOperation('debitMember', 'Move money from the member back to the master balance'),
  },
  '/members/{member}/auto-recharge': {
    put: operation(
      'money',
      'setAutoRecharge',
      'Top the member up from the master when its balance runs low',
      {
        parameters: [memberParam],
        requestBody: body({
          type: 'object',
          properties: {
            threshold: ref('MoneyInput'),
            amount: ref('MoneyInput'),
            daily_cap: nullable(ref('MoneyInput')),
          },
          required: ['threshold', 'amount'],
        }),
        responses: { '200': ok('The rule', ref('AutoRechargeRule')), ...errors('403', '404', '409', '422') },
      },
    ),
    delete: operation('money', 'removeAutoRecharge', 'Remove the member’s auto-recharge rule', {
      parameters: [memberParam],
      responses: { '204': { description: 'Removed' }, ...errors('403', '404', '422') },
    }),
  },
  '/transfers': {
    get: operation('money', 'listTransfers', 'Ledger entries, newest first', {
      parameters: [
        query('member', 'Only this member’s transfers (id or email)'),
        query('before', 'A transfer id: continue below it (next_before of the previous page)'),
        query('limit', 'Entries per page (default 50, at most 200)', {
          type: 'integer',
          minimum: 1,
          maximum: 200,
        }),
      ],
      responses: {
        '200': ok('One page of transfers', listOf(ref('Transfer'), { next_before: nullable(string()) })),
        ...errors('403', '404', '422'),
      },
    }),
  },
  '/invitations': {
    get: operation('invitations', 'listInvitations', 'Invitations, newest first', {
      parameters: [
        query('status', 'Which invitations (default pending)', {
          type: 'string',
          enum: [...INVITATION_STATUSES, 'all'],
        }),
      ],
      responses: { '200': ok('Invitations', listOf(ref('Invitation'))), ...errors('403') },
    }),
    post: operation('invitations', 'inviteMember', 'Invite an email to join as a member', {
      requestBody: body({
        type: 'object',
        properties: { email: string(), role: { type: 'string', enum: ['admin', 'user'] } },
        required: ['email'],
      }),
      responses: { '201': ok('The invitation', ref('Invitation')), ...errors('403', '409', '422') },
    }),
  },
  '/invitations/{id}': {
    delete: operation('invitations', 'revokeInvitation', 'Revoke a pending invitation', {
      parameters: [idParam('An invitation id, or the invited email')],
      responses: {
        '200': ok('The revoked invitation', ref('Invitation')),
        ...errors('403', '404', '409', '422'),
      },
    }),
  },
  '/role-requests': {
    post: operation(
      'roles',
      'requestRoleChange',
      'Ask for a member’s role to change (approved by an owner or admin)',
      {
        requestBody: body({
          type: 'object',
          properties: {
            member: { oneOf: [{ type: 'string' }, { type: 'integer' }], description: 'A member id or email' },
            role: { type: 'string', enum: ROLES },
          },
          required: ['member', 'role'],
        }),
        responses: {
          '201': ok('The pending request', ref('RoleRequest')),
          ...errors('403', '404', '409', '422'),
        },
      },
    ),
  },
  '/role-requests/{id}/approve': {
    post: decision('approveRoleChange', 'Approve a role change; a second decision changes nothing'),
  },
  '/role-requests/{id}/deny': {
    post: decision('denyRoleChange', 'Deny a role change; a second decision changes nothing'),
  },
  '/audit': {
    get: operation('team', 'listAudit', 'The audit trail, newest first', {
      parameters: [
        query('limit', 'Events (default 100, at most 500)', { type: 'integer', minimum: 1, maximum: 500 }),
      ],
      responses: { '200': ok('Audit events', listOf(ref('AuditEvent'))), ...errors('403', '422') },
    }),
  },
  '/sms': {
    post: operation('messaging', 'sendSms', 'Send an SMS from the caller’s own sub-account', {
      parameters: [idempotencyKey],
      requestBody: body({
        type: 'object',
        properties: {
          to: {
            oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
            description: 'One E.164 number, or a list of up to 1,000',
          },
          message: string('The text; at most 10 parts'),
          sender_id: string('Alphanumeric (up to 11 characters) or a number'),
        },
        required: ['to', 'message'],
      }),
      responses: {
        '202': {
          description: 'Accepted and charged: one item, or a list when `to` was a list',
          headers: replayedHeader,
          content: json({ oneOf: [ref('SentMessage'), { type: 'array', items: ref('SentMessage') }] }),
        },
        ...errors('402', '403', '409', '422'),
      },
    }),
  },
  '/messages': {
    get: operation('messaging', 'searchMessages', 'The message log, newest first (a user sees its own)', {
      parameters: [
        query('member', 'Only this member’s messages (id or email)'),
        query('status', 'queued, sent, delivered or failed', { type: 'string', enum: MESSAGE_STATUSES }),
        query('recipient', 'Only messages to this number'),
        query('from', 'From this date or time (ISO 8601)'),
        query('to', 'Up to this date or time (ISO 8601)'),
        query('contains', 'Only messages whose text contains this'),
        query('cursor', 'next_cursor of the previous page'),
        query('limit', 'Messages per page (at most 200)', { type: 'integer', minimum: 1, maximum: 200 }),
      ],
      responses: {
        '200': ok(
          'One page of the log',
          listOf(ref('LoggedMessage'), { currency: string(), next_cursor: nullable(string()) }),
        ),
        ...errors('403', '404', '422'),
      },
    }),
  },
  '/messages/{id}': {
    get: operation('messaging', 'getMessage', 'One message of the log', {
      parameters: [idParam('A message id')],
      responses: { '200': ok('The message', ref('LoggedMessage')), ...errors('403', '404', '422') },
    }),
  },
  '/stats': {
    get: operation('stats', 'getStats', 'Messages, parts and cost per member and for the team (UTC days)', {
      parameters: [
        query('member', 'Only this member (id or email)'),
        query('period', 'Instead of from/to', { type: 'string', enum: PERIODS }),
        query('from', 'First day, YYYY-MM-DD', { type: 'string', format: 'date' }),
        query('to', 'Last day, YYYY-MM-DD', { type: 'string', format: 'date' }),
        query('group_by', 'total (default) or day', { type: 'string', enum: GROUPINGS }),
      ],
      responses: { '200': ok('Statistics', ref('Stats')), ...errors('403', '404', '422') },
    }),
  },
};

function moneyOperation(operationId: string, summary: string): Operation {
  return operation('money', operationId, summary, {
    parameters: [memberParam, idempotencyKey],
    requestBody: body({
      type: 'object',
      properties: { amount: ref('MoneyInput'), reason: string() },
      required: ['amount'],
    }),
    responses: {
      '201': { description: 'Moved', content: json(ref('MoveResult')) },
      '200': {
        description: 'A replay of an earlier request with the same Idempotency-Key: nothing moved again',
        headers: replayedHeader,
        content: json(ref('MoveResult')),
      },
      ...errors('402', '403', '404', '409', '422'),
    },
  });
}

function decision(operationId: string, summary: string): Operation {
  return operation('roles', operationId, summary, {
    parameters: [idParam('A role-change request id')],
    responses: {
      '200': ok('The request; `changed` is false when it had already been decided', {
        allOf: [ref('RoleRequest'), object({ changed: { type: 'boolean' } })],
      }),
      ...errors('403', '404', '409', '422'),
    },
  });
}

/** The native API under /api/v1, written by hand; a test keeps it equal to the registered routes. */
export const openApiDocument: OpenApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'teamops',
    version: '1',
    description:
      'Team and sub-account management for an SMS platform. Authenticate with a member’s API key as ' +
      '`Authorization: Bearer <key>`; every call acts as that member. Money is an exact decimal string ' +
      'in the team’s currency. The Textmagic- and SMS.to-compatible APIs are described in docs/api.md.',
  },
  servers: [{ url: '/api/v1' }],
  security: [{ apiKey: [] }],
  tags: [
    { name: 'team', description: 'The master account' },
    { name: 'members', description: 'Sub-accounts' },
    { name: 'money', description: 'Credit, debit, auto-recharge and the ledger' },
    { name: 'invitations', description: 'Inviting people by email' },
    { name: 'roles', description: 'Role changes gated by approval' },
    { name: 'messaging', description: 'Sending SMS and the message log' },
    { name: 'stats', description: 'Statistics per member' },
    { name: 'meta', description: 'This document' },
  ],
  paths,
  components: {
    securitySchemes: {
      apiKey: { type: 'http', scheme: 'bearer', description: 'A member’s API key (tok_…)' },
    },
    schemas,
  },
};

/** GET /api/v1/openapi.json without authentication; mounted before the authenticated router. */
export function mountOpenApiDocument(app: Express): void {
  app.get('/api/v1/openapi.json', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300');
    res.json(openApiDocument);
  });
}

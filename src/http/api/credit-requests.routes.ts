import type { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../../app.ts';
import {
  CREDIT_REQUEST_FILTERS,
  type CreditRequestView,
} from '../../credit-requests/credit-request.service.ts';
import { microsToDecimal } from '../../shared/money.ts';
import { type AnyEndpoint, endpoint, registerEndpoints } from './endpoint.ts';
import { keysetPage } from './pagination.ts';
import { CreditRequest, cursorQuery, limitQuery, moneyInput, numericId, pageOf } from './schemas.ts';

/** Credit requests: a member asks for credit, the owner or an admin approves or denies it. */
const requestId = z.object({ id: numericId('A credit request id', 'a credit request id') });

function decision(kind: 'approve' | 'deny', operationId: string, summary: string) {
  return endpoint({
    method: 'post',
    path: `/credit-requests/{id}/${kind}`,
    operationId,
    summary,
    tag: 'credit requests',
    params: requestId,
    responses: {
      '200': {
        description: 'The request; `changed` is false when it had already been decided',
        schema: CreditRequest.extend({ changed: z.boolean() }),
      },
    },
    errors: kind === 'approve' ? ['402', '403', '404', '409', '422'] : ['403', '404', '409', '422'],
    async handle({ params, actor, services, res }) {
      const { request, changed } = await services.creditRequests[kind](actor, Number(params.id));
      res.json({ ...creditRequestJson(request), changed });
    },
  });
}

export const endpoints: AnyEndpoint[] = [
  endpoint({
    method: 'get',
    path: '/credit-requests',
    operationId: 'listCreditRequests',
    summary: 'Credit requests, newest first (a user sees only its own)',
    tag: 'credit requests',
    query: z.object({
      status: z
        .enum(CREDIT_REQUEST_FILTERS, { error: `status must be one of ${CREDIT_REQUEST_FILTERS.join(', ')}` })
        .optional()
        .meta({ description: 'Which requests (default open)' }),
      cursor: cursorQuery,
      limit: limitQuery(200, 50),
    }),
    responses: { '200': { description: 'One page of credit requests', schema: pageOf(CreditRequest) } },
    errors: ['403', '422'],
    async handle({ query, actor, services, res }) {
      const list = (before: string | null, limit: number) =>
        services.creditRequests.list(actor, {
          status: query.status ?? 'open',
          before: before === null ? null : Number(before),
          limit,
        });
      const page = await keysetPage(list, query.cursor ?? null, query.limit ?? 50, (r) => r.id);
      res.json({ items: page.items.map(creditRequestJson), next_cursor: page.nextCursor });
    },
  }),
  endpoint({
    method: 'post',
    path: '/credit-requests',
    operationId: 'requestCredit',
    summary: 'Ask the owner and admins for credit from the master balance (expires after 7 days)',
    tag: 'credit requests',
    body: z.object({
      amount: moneyInput,
      reason: z
        .string({ error: 'reason must be text' })
        .nullish()
        .meta({ description: 'Why (at most 500 characters)' }),
    }),
    responses: { '201': { description: 'The open request', schema: CreditRequest } },
    errors: ['403', '409', '422'],
    async handle({ body, actor, services, res }) {
      const request = await services.creditRequests.create(actor, {
        amount: body.amount,
        reason: body.reason ?? null,
      });
      res.status(201).json(creditRequestJson(request));
    },
  }),
  endpoint({
    method: 'get',
    path: '/credit-requests/{id}',
    operationId: 'getCreditRequest',
    summary: 'One credit request (a user sees only its own)',
    tag: 'credit requests',
    params: requestId,
    responses: { '200': { description: 'The request', schema: CreditRequest } },
    errors: ['403', '404', '422'],
    async handle({ params, actor, services, res }) {
      res.json(creditRequestJson(await services.creditRequests.get(actor, Number(params.id))));
    },
  }),
  decision(
    'approve',
    'approveCreditRequest',
    'Approve: the member is credited from the master balance once; a second decision changes nothing',
  ),
  decision('deny', 'denyCreditRequest', 'Deny a credit request; a second decision changes nothing'),
];

export function register(router: Router, deps: AppDeps): void {
  registerEndpoints(router, deps, endpoints);
}

function creditRequestJson(r: CreditRequestView) {
  return {
    id: r.id,
    member: { id: r.memberId, name: r.memberName },
    amount: microsToDecimal(r.amount),
    reason: r.reason,
    status: r.status,
    decided_by: r.decidedById === null ? null : { id: r.decidedById, name: r.decidedByName ?? '' },
    decided_at: r.decidedAt?.toISOString() ?? null,
    transfer_id: r.transferId,
    expires_at: r.expiresAt.toISOString(),
    created_at: r.createdAt.toISOString(),
  };
}

import type { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../../app.ts';
import { MESSAGE_STATUSES } from '../../messaging/message.entity.ts';
import type { MessageView, SendResult } from '../../messaging/views.ts';
import { microsToDecimal } from '../../shared/money.ts';
import { type AnyEndpoint, endpoint, registerEndpoints } from './endpoint.ts';
import { parseMemberRef } from './request.ts';
import { LoggedMessage, limitQuery, optionalText, pageOf, SentMessage, text } from './schemas.ts';

/**
 * POST /sms sends from the caller's own sub-account; GET /messages is the message log (the owner
 * and admins see every member's, a user its own). Money is a decimal string in the team's currency.
 */
export const endpoints: AnyEndpoint[] = [
  endpoint({
    method: 'post',
    path: '/sms',
    operationId: 'sendSms',
    summary: 'Send an SMS from the caller’s own sub-account',
    tag: 'messaging',
    idempotent: true,
    // The service names what is wrong with a number or a text; the edge checks only the shape.
    body: z.object({
      to: z
        .union([z.string(), z.array(z.string())], { error: 'to must be a phone number or a list of them' })
        .optional()
        .meta({ description: 'One E.164 number, or a list of up to 1,000' }),
      message: z
        .string({ error: 'message must be text' })
        .optional()
        .meta({ description: 'The text; at most 10 parts' }),
      sender_id: z
        .string({ error: 'sender_id must be text' })
        .nullish()
        .meta({ description: 'Alphanumeric (up to 11 characters) or a number' }),
    }),
    responses: {
      '202': {
        description: 'Accepted and charged: one item, or a list when `to` was a list',
        schema: z.union([SentMessage, z.array(SentMessage)]),
        replayed: true,
      },
    },
    errors: ['402', '403', '409', '422'],
    async handle({ body, actor, services, req, res }) {
      const result = await services.messaging.send(actor, {
        to: body.to,
        message: body.message,
        senderId: body.sender_id,
        idempotencyKey: req.get('idempotency-key') ?? null,
      });
      if (result.replayed) res.set('Idempotent-Replayed', 'true');
      res.status(202).json(Array.isArray(body.to) ? sentItems(result) : sentItems(result)[0]);
    },
  }),
  endpoint({
    method: 'get',
    path: '/messages',
    operationId: 'searchMessages',
    summary: 'The message log, newest first (a user sees its own)',
    tag: 'messaging',
    query: z.object({
      member: optionalText('member', 'Only this member’s messages (id or email)'),
      status: optionalText('status', 'queued, sent, delivered or failed').meta({
        enum: [...MESSAGE_STATUSES],
      }),
      recipient: optionalText('recipient', 'Only messages to this number'),
      from: optionalText('from', 'From this date or time (ISO 8601)'),
      to: optionalText('to', 'Up to this date or time (ISO 8601)'),
      contains: optionalText('contains', 'Only messages whose text contains this'),
      cursor: optionalText('cursor', 'next_cursor of the previous page'),
      limit: limitQuery(200, 50),
    }),
    responses: {
      '200': {
        description: 'One page of the log',
        schema: pageOf(LoggedMessage, { currency: z.string() }),
      },
    },
    errors: ['403', '404', '422'],
    async handle({ query, actor, services, res }) {
      const page = await services.messaging.searchLog(actor, {
        member: query.member === undefined ? undefined : parseMemberRef(query.member),
        status: query.status,
        recipient: query.recipient,
        from: query.from,
        to: query.to,
        contains: query.contains,
        cursor: query.cursor,
        limit: query.limit === undefined ? undefined : String(query.limit),
      });
      res.json({ currency: page.currency, items: page.items.map(logItem), next_cursor: page.nextCursor });
    },
  }),
  endpoint({
    method: 'get',
    path: '/messages/{id}',
    operationId: 'getMessage',
    summary: 'One message of the log',
    tag: 'messaging',
    params: z.object({ id: text('id', 'A message id') }),
    responses: { '200': { description: 'The message', schema: LoggedMessage } },
    errors: ['403', '404', '422'],
    async handle({ params, actor, services, res }) {
      res.json(logItem(await services.messaging.getMessage(actor, params.id)));
    },
  }),
];

export function register(router: Router, deps: AppDeps): void {
  registerEndpoints(router, deps, endpoints);
}

function sentItems(result: SendResult) {
  return result.messages.map((m) => ({
    id: m.id,
    to: m.to,
    parts: m.parts,
    cost: microsToDecimal(m.cost),
    status: m.status,
    balance: microsToDecimal(result.balance),
    currency: result.currency,
  }));
}

function logItem(m: MessageView) {
  return {
    id: m.id,
    member: { id: m.memberId, name: m.memberName },
    to: m.to,
    message: m.message,
    sender_id: m.senderId,
    encoding: m.encoding,
    parts: m.parts,
    unit_price: microsToDecimal(m.unitPrice),
    cost: microsToDecimal(m.cost),
    status: m.status,
    error: m.error,
    refunded: m.refunded,
    created_at: m.createdAt.toISOString(),
    sent_at: m.sentAt?.toISOString() ?? null,
    finished_at: m.finishedAt?.toISOString() ?? null,
  };
}

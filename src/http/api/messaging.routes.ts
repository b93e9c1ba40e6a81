import type { Router } from 'express';
import type { AppDeps } from '../../app.ts';
import type { MessageView, SendResult } from '../../messaging/views.ts';
import { microsToDecimal } from '../../shared/money.ts';
import { actorOf, optional, parseMemberRef, text } from './request.ts';

/**
 * POST /sms sends from the caller's own sub-account; GET /messages is the message log (the owner
 * and admins see every member's, a user its own). Money is a decimal string in the team's currency.
 */
export function register(router: Router, { services }: AppDeps): void {
  router.post('/sms', async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const result = await services.messaging.send(actorOf(req), {
      to: body.to,
      message: body.message,
      senderId: body.sender_id,
      idempotencyKey: req.get('idempotency-key') ?? null,
    });
    if (result.replayed) res.set('Idempotent-Replayed', 'true');
    res.status(202).json(Array.isArray(body.to) ? sentItems(result) : sentItems(result)[0]);
  });

  router.get('/messages', async (req, res) => {
    const q = req.query;
    const page = await services.messaging.searchLog(actorOf(req), {
      member: q.member === undefined ? undefined : parseMemberRef(text(q.member, 'member')),
      status: optional(q.status, 'status'),
      recipient: optional(q.recipient, 'recipient'),
      from: optional(q.from, 'from'),
      to: optional(q.to, 'to'),
      contains: optional(q.contains, 'contains'),
      cursor: optional(q.cursor, 'cursor'),
      limit: optional(q.limit, 'limit'),
    });
    res.json({
      currency: page.currency,
      items: page.items.map(logItem),
      next_cursor: page.nextCursor,
    });
  });

  router.get('/messages/:id', async (req, res) => {
    res.json(logItem(await services.messaging.getMessage(actorOf(req), String(req.params.id))));
  });
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

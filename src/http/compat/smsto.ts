import { randomBytes } from 'node:crypto';
import express, {
  type ErrorRequestHandler,
  type Express,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import type { AppDeps } from '../../app.ts';
import type { InvitationView } from '../../invitations/invitation.service.ts';
import type { MoveResult } from '../../ledger/ledger.service.ts';
import { maskApiKey } from '../../members/api-keys.ts';
import type { MemberRef } from '../../members/lookups.ts';
import type { MemberView } from '../../members/views.ts';
import { ValidationError } from '../../shared/errors.ts';
import { formatMoney, microsToNumber } from '../../shared/money.ts';
import { requireApiKey } from '../api/auth.ts';
import { actorOf, bodyOf, optional } from '../api/request.ts';
import { describeError } from '../errors.ts';
import { limitPerApiKey, rejectInvalidText } from '../request-guard.ts';
import { noStore, numberQuery, numericId } from './params.ts';

/**
 * The SMS.to team API at /v1/team, for clients written against SMS.to: bearer API key, bodies
 * `{success: true, message?, data}`, errors `{success: false, message}`. Each route calls the
 * same service method as the native API and Slack.
 */
export function mountSmsTo(app: Express, { services, logger }: AppDeps): void {
  const router = express.Router();
  // Enable, disable, credit and debit are GETs in SMS.to's API: no cache may answer them.
  router.use(noStore);
  router.use(express.json({ limit: '64kb' }));
  router.use(requireApiKey(services), limitPerApiKey, rejectInvalidText);

  router.get('/users', async (req, res) => {
    const actor = actorOf(req);
    const [page, team] = await Promise.all([
      services.members.list(actor, {
        page: numberQuery(req.query.page, 'page'),
        limit: numberQuery(req.query.limit, 'limit') ?? 100,
        // SMS.to keeps pending invitees at /invitations and drops deleted members from the team.
        statuses: ['active', 'inactive'],
      }),
      services.teams.get(actor),
    ]);
    res.json({
      success: true,
      data: page.items.map((member) => userJson(member, team.currency)),
      meta: {
        current_page: page.page,
        per_page: page.limit,
        total: page.total,
        last_page: Math.max(1, Math.ceil(page.total / page.limit)),
      },
    });
  });

  router.get('/invitations', async (req, res) => {
    const invitations = await services.invitations.list(actorOf(req), { status: 'pending' });
    res.json({ success: true, data: invitations.map(invitationJson) });
  });

  router.post('/user/create', async (req, res) => {
    const body = bodyOf(req);
    const email = typeof body.email === 'string' && body.email !== '' ? body.email : null;
    const name = typeof body.name === 'string' && body.name.trim() !== '' ? body.name : null;
    if (!name && body.auto_generate_credentials !== true) {
      throw new ValidationError('name', 'name is required unless auto_generate_credentials is true');
    }
    const actor = actorOf(req);
    const { member, apiKey } = await services.members.create(actor, {
      name: name ?? email?.split('@')[0] ?? `Sub-account ${randomBytes(3).toString('hex')}`,
      email,
    });
    const team = await services.teams.get(actor);
    res.json({
      success: true,
      message: `${member.name} was created; its API key is shown only this once`,
      // The only time the key is ever shown.
      data: { ...userJson(member, team.currency), api_key: apiKey },
    });
  });

  router.post('/user/invite', async (req, res) => {
    const body = bodyOf(req);
    const invitation = await services.invitations.invite(actorOf(req), {
      email: typeof body.email === 'string' ? body.email : null,
      role: typeof body.role === 'string' ? body.role : null,
    });
    res.json({
      success: true,
      message: `An invitation is on its way to ${invitation.email}`,
      data: invitationJson(invitation),
    });
  });

  for (const action of ['enable', 'disable'] as const) {
    router.get(
      `/user/:id/${action}`,
      getOnly(async (req, res) => {
        const actor = actorOf(req);
        const member = await services.members[action](actor, memberRef(req.params.id));
        const team = await services.teams.get(actor);
        res.json({
          success: true,
          message: `${member.name} is ${member.status}`,
          data: userJson(member, team.currency),
        });
      }),
    );
  }

  for (const kind of ['credit', 'debit'] as const) {
    router.get(
      `/user/:id/${kind}`,
      getOnly(async (req, res) => {
        const result = await services.ledger[kind](actorOf(req), {
          member: memberRef(req.params.id),
          amount: optional(req.query.amount, 'amount') ?? '',
          reason: optional(req.query.reason, 'reason') ?? null,
          // A GET may be retried by proxies or clients: the same key never moves the money twice.
          idempotencyKey: req.get('idempotency-key') ?? null,
        });
        if (result.replayed) res.set('Idempotent-Replayed', 'true');
        res.json({
          success: true,
          message: moveMessage(result),
          data: {
            transfer_id: result.transferId,
            type: result.kind,
            amount: microsToNumber(result.amount),
            currency: result.currency,
            master_balance: result.masterBalance === null ? null : microsToNumber(result.masterBalance),
            user: userJson(result.member, result.currency),
            replayed: result.replayed,
          },
        });
      }),
    );
  }

  router.delete('/user/:id/delete', async (req, res) => {
    const actor = actorOf(req);
    const { member, returned } = await services.members.close(actor, memberRef(req.params.id));
    const team = await services.teams.get(actor);
    res.json({
      success: true,
      message: `${member.name} was deleted; ${formatMoney(returned, team.currency)} returned to the master balance`,
      data: { ...userJson(member, team.currency), returned_to_master: microsToNumber(returned) },
    });
  });

  router.delete('/invitation/:id/delete', async (req, res) => {
    const invitation = await services.invitations.revoke(actorOf(req), { id: idParam(req.params.id) });
    res.json({
      success: true,
      message: `The invitation to ${invitation.email} was deleted`,
      data: invitationJson(invitation),
    });
  });

  router.use((req, res) => {
    res
      .status(404)
      .json({ success: false, message: `No such endpoint: ${req.method} ${req.baseUrl}${req.path}` });
  });
  router.use(errorHandler(logger));
  app.use('/v1/team', router);
}

/**
 * Express answers HEAD with the GET handler; for a GET that changes state that would move money
 * or flip a sub-account on a mere probe, so HEAD is refused there.
 */
function getOnly(handler: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return async (req, res) => {
    if (req.method !== 'GET') {
      res.status(405).set('Allow', 'GET').end();
      return;
    }
    await handler(req, res);
  };
}

function userJson(member: MemberView, currency: string) {
  return {
    id: member.id,
    name: member.name,
    email: member.email,
    role: member.role,
    status: member.status,
    balance: microsToNumber(member.balance),
    currency,
    api_key: maskApiKey(member.apiKeyPrefix),
    created_at: member.createdAt.toISOString(),
  };
}

function invitationJson(i: InvitationView) {
  return {
    id: i.id,
    email: i.email,
    role: i.role,
    status: i.status,
    delivery_status: i.deliveryStatus,
    delivery_error: i.deliveryError,
    invited_by: i.invitedByName,
    user_id: i.memberId,
    expires_at: i.expiresAt.toISOString(),
    created_at: i.createdAt.toISOString(),
  };
}

function moveMessage(result: MoveResult): string {
  const amount = formatMoney(result.amount, result.currency);
  return result.kind === 'credit'
    ? `${amount} moved from the master balance to ${result.member.name}`
    : `${amount} moved from ${result.member.name} to the master balance`;
}

function idParam(value: unknown): number {
  const id = numericId(value);
  if (id === null) throw new ValidationError('id', 'id must be a numeric id');
  return id;
}

function memberRef(value: unknown): MemberRef {
  return { id: idParam(value) };
}

/** Domain errors keep the native API's status (validation 422, as SMS.to answers); the body is SMS.to's. */
function errorHandler(logger: AppDeps['logger']): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const { status, body } = describeError(error);
    if (status >= 500) logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    res.status(status).json({
      success: false,
      message: body.error.message,
      ...(body.error.field ? { errors: { [body.error.field]: [body.error.message] } } : {}),
    });
  };
}

import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler } from 'express';
import type { AppDeps, Services } from '../../app.ts';
import type { MemberRef } from '../../members/lookups.ts';
import { managesMembers } from '../../members/member.entity.ts';
import { isDomainError, NotFoundError, UnauthenticatedError, ValidationError } from '../../shared/errors.ts';
import { actorOf, bodyOf } from '../api/request.ts';
import { describeError } from '../errors.ts';
import { limitPerApiKey, rejectInvalidText } from '../request-guard.ts';
import {
  basicCredentials,
  isSubaccount,
  noStore,
  numberQuery,
  numericId,
  SUBACCOUNT_STATUSES,
} from './params.ts';
import { textmagicUser } from './textmagic-user.ts';

/** Textmagic's error body; `code` repeats the HTTP status, as Textmagic does. */
export interface TextmagicError {
  code: number;
  message: string;
  errors: { common: string[]; fields: Record<string, string[]> };
}

const ROLE_BY_LETTER: Record<string, 'admin' | 'user'> = { A: 'admin', U: 'user' };

/**
 * The Textmagic v2 sub-account API at /api/v2/subaccounts, for clients written against Textmagic.
 * Every call goes through the same service methods as the native API and Slack.
 */
export function mountTextmagic(app: Express, { services, logger }: AppDeps): void {
  const router = express.Router();
  router.use(noStore);
  router.use(express.json({ limit: '64kb' }), express.urlencoded({ extended: false, limit: '64kb' }));
  router.use(authenticate(services), limitPerApiKey, rejectInvalidText);
  // Only the parent and administrators manage sub-accounts; Textmagic answers anyone else 401.
  router.use(async (req, _res, next) => {
    try {
      if (!managesMembers(req.member!.role)) {
        throw new UnauthenticatedError('Only the parent account and administrators can manage sub-accounts');
      }
      next();
    } catch (error) {
      next(error);
    }
  });

  router.get('/', async (req, res) => {
    const actor = actorOf(req);
    const [page, team] = await Promise.all([
      services.members.list(actor, {
        page: numberQuery(req.query.page, 'page'),
        limit: numberQuery(req.query.limit, 'limit') ?? 10,
        // Sub-accounts only: the parent is not one, a pending invitee is not an account yet, and
        // a closed sub-account is gone, as on Textmagic.
        subaccountsOnly: true,
        statuses: SUBACCOUNT_STATUSES,
      }),
      services.teams.get(actor),
    ]);
    res.json({
      page: page.page,
      limit: page.limit,
      pageCount: Math.ceil(page.total / page.limit),
      resources: page.items.map((member) => textmagicUser(member, team)),
    });
  });

  router.get('/:id', async (req, res) => {
    const actor = actorOf(req);
    const [member, team] = await Promise.all([
      services.members.show(actor, subaccountRef(req.params.id)),
      services.teams.get(actor),
    ]);
    if (!isSubaccount(member)) throw noSuchSubaccount(req.params.id);
    res.json(textmagicUser(member, team));
  });

  router.post('/', async (req, res) => {
    const body = bodyOf(req);
    const letter = typeof body.role === 'string' ? body.role.trim().toUpperCase() : '';
    const role = ROLE_BY_LETTER[letter];
    if (!role) {
      throw new ValidationError(
        'role',
        letter ? 'role must be A (administrator) or U (regular user)' : 'role is required: A or U',
      );
    }
    // `company` is accepted and ignored: a sub-account's company is its team.
    await services.invitations.invite(actorOf(req), {
      email: typeof body.email === 'string' ? body.email : null,
      role,
    });
    res.status(204).end();
  });

  router.delete('/:id', async (req, res) => {
    const actor = actorOf(req);
    const member = await services.members.show(actor, subaccountRef(req.params.id));
    if (!isSubaccount(member)) throw noSuchSubaccount(req.params.id);
    await services.members.close(actor, { id: member.id });
    res.status(204).end();
  });

  router.use((req, res) => {
    res.status(404).json(textmagicError(404, `No such endpoint: ${req.method} ${req.baseUrl}${req.path}`));
  });
  router.use(errorHandler(logger));
  app.use('/api/v2/subaccounts', router);
}

/**
 * HTTP Basic `username:apiKey`, or the X-TM-Username / X-TM-Key headers. The key finds the
 * member; the username must be that member's username (or its email, which names it too).
 */
function authenticate(services: Services): RequestHandler {
  return async (req, _res, next) => {
    try {
      const credentials = textmagicCredentials(req);
      if (!credentials) {
        throw new UnauthenticatedError(
          'Send your username and API key with HTTP Basic auth or the X-TM-Username and X-TM-Key headers',
        );
      }
      const member = await services.members.authenticateApiKey(credentials.key);
      const username = credentials.username.trim().toLowerCase();
      if (username !== member.username.toLowerCase() && username !== member.email?.toLowerCase()) {
        throw new UnauthenticatedError('The username does not belong to this API key');
      }
      req.member = member;
      next();
    } catch (error) {
      next(error);
    }
  };
}

function textmagicCredentials(req: Request): { username: string; key: string } | null {
  const username = req.get('x-tm-username');
  const key = req.get('x-tm-key');
  if (username && key) return { username, key };
  const basic = basicCredentials(req.get('authorization'));
  return basic && { username: basic.username, key: basic.password };
}

function noSuchSubaccount(value: unknown): NotFoundError {
  return new NotFoundError(`There is no sub-account ${String(value)}`);
}

/** Textmagic ids are numeric; anything else names no sub-account. */
function subaccountRef(value: unknown): MemberRef {
  const id = numericId(value);
  if (id === null) throw noSuchSubaccount(value);
  return { id };
}

export function textmagicError(code: number, message: string, field?: string): TextmagicError {
  return {
    code,
    message,
    errors: field ? { common: [], fields: { [field]: [message] } } : { common: [message], fields: {} },
  };
}

/**
 * Only the codes Textmagic documents: 400 for anything wrong with the request (validation, a
 * duplicate invitation, a refused change), 401 for credentials and for a key that may not do
 * this (Textmagic has no 403), 404, 429 and 5xx. Messages go under the field at fault.
 */
export function textmagicStatus(status: number): number {
  if (status === 403) return 401;
  if (status === 401 || status === 404 || status === 429 || status >= 500) return status;
  return 400;
}

function errorHandler(logger: AppDeps['logger']): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const { status, body } = describeError(error);
    if (status >= 500) logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    const code = textmagicStatus(status);
    if (code === 401) res.set('WWW-Authenticate', 'Basic realm="teamops"');
    res
      .status(code)
      .json(textmagicError(code, body.error.message, isDomainError(error) ? body.error.field : undefined));
  };
}

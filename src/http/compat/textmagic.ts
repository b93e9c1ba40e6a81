import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler } from 'express';
import type { AppDeps, Services } from '../../app.ts';
import type { MemberRef } from '../../members/lookups.ts';
import { isDomainError, NotFoundError, UnauthenticatedError, ValidationError } from '../../shared/errors.ts';
import { actorOf, bodyOf } from '../api/request.ts';
import { describeError } from '../errors.ts';
import { limitPerApiKey, rejectInvalidText } from '../request-guard.ts';
import { noStore, numberQuery, numericId } from './params.ts';
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

  router.get('/', async (req, res) => {
    const actor = actorOf(req);
    const [page, team] = await Promise.all([
      services.members.list(actor, {
        page: numberQuery(req.query.page, 'page'),
        limit: numberQuery(req.query.limit, 'limit') ?? 10,
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
    await services.members.close(actorOf(req), subaccountRef(req.params.id));
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
 * member; the username must be that member's email, as a Textmagic username names its account.
 */
function authenticate(services: Services): RequestHandler {
  return async (req, _res, next) => {
    try {
      const credentials = textmagicCredentials(req);
      if (!credentials) {
        throw new UnauthenticatedError(
          'Send your username (your email) and API key with HTTP Basic auth or the X-TM-Username and X-TM-Key headers',
        );
      }
      const member = await services.members.authenticateApiKey(credentials.key);
      if (!member.email || member.email.toLowerCase() !== credentials.username.trim().toLowerCase()) {
        throw new UnauthenticatedError('The username does not belong to this API key; use your email');
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
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.get('authorization') ?? '');
  if (!basic) return null;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { username: decoded.slice(0, colon), key: decoded.slice(colon + 1) };
}

/** Textmagic ids are numeric; anything else names no sub-account. */
function subaccountRef(value: unknown): MemberRef {
  const id = numericId(value);
  if (id === null) throw new NotFoundError(`There is no sub-account ${String(value)}`);
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
 * Validation is 400 (Textmagic's), with the message under the field at fault; the rest keeps the
 * native API's status (401, 403, 404, 402 insufficient funds, 409 conflict).
 */
function errorHandler(logger: AppDeps['logger']): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const { status, body } = describeError(error);
    if (status >= 500) logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    const code = error instanceof ValidationError ? 400 : status;
    if (code === 401) res.set('WWW-Authenticate', 'Basic realm="teamops"');
    res
      .status(code)
      .json(textmagicError(code, body.error.message, isDomainError(error) ? body.error.field : undefined));
  };
}

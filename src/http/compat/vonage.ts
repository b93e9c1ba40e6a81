import { randomBytes } from 'node:crypto';
import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler } from 'express';
import type { AppDeps, Services } from '../../app.ts';
import type { TransferKind } from '../../ledger/transfer.entity.ts';
import type { MemberView, TeamView } from '../../members/views.ts';
import { isDomainError, NotFoundError, UnauthenticatedError, ValidationError } from '../../shared/errors.ts';
import { microsToNumber } from '../../shared/money.ts';
import { actorOf, bodyOf } from '../api/request.ts';
import { describeError } from '../errors.ts';
import { limitPerApiKey, rejectInvalidText } from '../request-guard.ts';
import { basicCredentials, isSubaccount, noStore, SUBACCOUNT_STATUSES } from './params.ts';

/**
 * The Vonage Subaccounts API at /accounts/{api_key}/…, for clients written against Vonage
 * (`@vonage/subaccounts` with its apiHost pointed here). Accounts are named by key id; the
 * primary account is the team (its owner's key id), sub-accounts are the other members. Every
 * call goes through the same service methods as the native API and Slack.
 */
export function mountVonage(app: Express, { services, logger }: AppDeps): void {
  const router = express.Router({ mergeParams: true });
  router.use(noStore);
  router.use(express.json({ limit: '64kb' }));
  router.use(authenticate(services), limitPerApiKey, rejectInvalidText);

  router.get('/subaccounts', async (req, res) => {
    const actor = actorOf(req);
    const { primary, team } = await primaryAccount(services, req);
    const subaccounts: MemberView[] = [];
    for (let page = 1; ; page++) {
      const found = await services.members.list(actor, {
        page,
        limit: 100,
        subaccountsOnly: true,
        statuses: SUBACCOUNT_STATUSES,
      });
      subaccounts.push(...found.items);
      if (page * found.limit >= found.total) break;
    }
    const ownBalances = subaccounts.reduce((sum, m) => sum + (m.sharesMasterBalance ? 0n : m.balance), 0n);
    const lent = subaccounts.reduce((sum, m) => sum + m.creditLimit, 0n);
    res.json({
      total_balance: microsToNumber(team.masterBalance + ownBalances),
      total_credit_limit: creditLimitNumber(team.creditLimit + lent),
      _embedded: {
        primary_account: primaryJson(primary, team),
        subaccounts: subaccounts.map((m) => subaccountJson(m, primary.keyId)),
      },
    });
  });

  router.post('/subaccounts', async (req, res) => {
    const body = bodyOf(req);
    const { primary } = await primaryAccount(services, req);
    const shares = booleanField(body, 'use_primary_account_balance') ?? true;
    if (typeof body.name !== 'string') throw new ValidationError('name', 'name is required');
    if (body.secret !== undefined && typeof body.secret !== 'string') {
      throw new ValidationError('secret', 'secret must be a string');
    }
    const { member, apiKey } = await services.members.create(actorOf(req), {
      name: body.name,
      apiKey: (body.secret as string | undefined) ?? null,
      sharesMasterBalance: shares,
    });
    res.json({ ...subaccountJson(member, primary.keyId), secret: apiKey });
  });

  router.get('/subaccounts/:subaccount', async (req, res) => {
    const { primary } = await primaryAccount(services, req);
    const member = await subaccount(services, req);
    res.json(subaccountJson(member, primary.keyId));
  });

  router.patch('/subaccounts/:subaccount', async (req, res) => {
    const body = bodyOf(req);
    const suspended = booleanField(body, 'suspended');
    const shares = booleanField(body, 'use_primary_account_balance');
    if (body.name !== undefined && typeof body.name !== 'string') {
      throw new ValidationError('name', 'name must be a string');
    }
    const { primary } = await primaryAccount(services, req);
    const actor = actorOf(req);
    let member = await subaccount(services, req);
    if (body.name !== undefined || shares !== null) {
      member = await services.members.update(
        actor,
        { id: member.id },
        {
          name: (body.name as string | undefined) ?? null,
          sharesMasterBalance: shares,
        },
      );
    }
    if (suspended !== null) {
      // Suspending disables the member: its key is refused from the next request on.
      member = await services.members[suspended ? 'disable' : 'enable'](actor, { id: member.id });
    }
    res.json(subaccountJson(member, primary.keyId));
  });

  router.get('/balance-transfers', async (req, res) => {
    const transfers = await listTransfers(services, req, BALANCE_KINDS);
    res.json({
      _embedded: { balance_transfers: transfers.map((t) => ({ balance_transfer_id: t.id, ...t.json })) },
    });
  });

  router.post('/balance-transfers', async (req, res) => {
    const { primary } = await primaryAccount(services, req);
    const transfer = transferRequest(bodyOf(req), primary.keyId, 'balance');
    const member = await subaccount(services, req, transfer.subaccount);
    const result = await refusedAsInvalidTransfer(
      services.ledger[transfer.toSubaccount ? 'credit' : 'debit'](actorOf(req), {
        member: { id: member.id },
        amount: transfer.amount,
        reason: transfer.reference,
        idempotencyKey: null,
      }),
    );
    res.json({
      balance_transfer_id: result.transferId,
      ...transferJson(transfer, result.amount, result.createdAt),
    });
  });

  router.get('/credit-transfers', async (req, res) => {
    const transfers = await listTransfers(services, req, ['credit_limit_transfer']);
    res.json({
      _embedded: { credit_transfers: transfers.map((t) => ({ credit_transfer_id: t.id, ...t.json })) },
    });
  });

  // Credit limit moves between the primary account's facility and a sub-account's.
  router.post('/credit-transfers', async (req, res) => {
    const { primary } = await primaryAccount(services, req);
    const transfer = transferRequest(bodyOf(req), primary.keyId, 'credit');
    const member = await subaccount(services, req, transfer.subaccount);
    const result = await refusedAsInvalidTransfer(
      services.ledger.transferCreditLimit(actorOf(req), {
        member: { id: member.id },
        direction: transfer.toSubaccount ? 'to_member' : 'to_primary',
        amount: transfer.amount,
        reference: transfer.reference,
      }),
    );
    res.json({
      credit_transfer_id: result.transferId,
      ...transferJson(transfer, result.amount, result.createdAt),
    });
  });

  router.use((req, res) => {
    res.status(404).json(problem(404, `No such endpoint: ${req.method} ${req.originalUrl.split('?')[0]}`));
  });
  router.use(errorHandler(logger));
  app.use('/accounts/:apiKey', router);
}

interface TransferRequest {
  from: string;
  to: string;
  /** The key id of the sub-account on the other side from the primary account. */
  subaccount: string;
  toSubaccount: boolean;
  amount: string;
  reference: string | null;
}

/** A balance or credit transfer's body: always between the primary account and one sub-account. */
function transferRequest(
  body: Record<string, unknown>,
  primaryKeyId: string,
  what: 'balance' | 'credit',
): TransferRequest {
  const from = keyField(body, 'from');
  const to = keyField(body, 'to');
  if (typeof body.amount !== 'number' && typeof body.amount !== 'string') {
    throw new ValidationError('amount', 'amount is required: a positive number');
  }
  const reference = body.reference === undefined ? null : String(body.reference);
  const base = { from, to, amount: String(body.amount), reference };
  if (from === primaryKeyId && to !== primaryKeyId) return { ...base, subaccount: to, toSubaccount: true };
  if (to === primaryKeyId && from !== primaryKeyId) return { ...base, subaccount: from, toSubaccount: false };
  throw new ValidationError(
    'to',
    `a ${what} transfer moves ${what === 'balance' ? 'money' : 'credit limit'} between the primary account and a subaccount`,
  );
}

function transferJson(transfer: TransferRequest, amount: bigint, createdAt: Date) {
  return {
    amount: microsToNumber(amount),
    from: transfer.from,
    to: transfer.to,
    reference: transfer.reference ?? '',
    created_at: vonageDate(createdAt),
  };
}

/** Money moved between the master balance and a member: what Vonage calls balance transfers. */
const BALANCE_KINDS: readonly TransferKind[] = ['credit', 'debit', 'auto_recharge', 'close_out'];

/** HTTP Basic `key_id:api_key`: the key finds the member, and the key id must be that member's. */
function authenticate(services: Services): RequestHandler {
  return async (req, _res, next) => {
    try {
      const basic = basicCredentials(req.get('authorization'));
      if (!basic) {
        throw new UnauthenticatedError(
          'Send your api_key (key id) and api_secret (API key) with HTTP Basic auth',
        );
      }
      const member = await services.members.authenticateApiKey(basic.password);
      if (member.keyId !== basic.username.trim().toLowerCase()) {
        throw new UnauthenticatedError('You did not provide correct credentials');
      }
      req.member = member;
      next();
    } catch (error) {
      next(error);
    }
  };
}

/** The account in the path must be the caller's team's primary account, as Vonage requires. */
async function primaryAccount(
  services: Services,
  req: Request,
): Promise<{ primary: MemberView; team: TeamView }> {
  const actor = actorOf(req);
  const apiKey = String(req.params.apiKey ?? '');
  const notFound = () => new NotFoundError(`API key '${apiKey}' does not exist, or you do not have access`);
  if (!/^[0-9a-f]{8}$/i.test(apiKey)) throw notFound();
  const [primary, team] = await Promise.all([
    services.members.show(actor, { keyId: apiKey }).catch((error) => {
      throw error instanceof NotFoundError ? notFound() : error;
    }),
    services.teams.get(actor),
  ]);
  if (primary.role !== 'owner' || primary.status === 'closed') throw notFound();
  return { primary, team };
}

/** A sub-account of the caller's team by key id: not the owner, not an invitee, not closed. */
async function subaccount(
  services: Services,
  req: Request,
  keyId = String(req.params.subaccount),
): Promise<MemberView> {
  const notFound = () => new NotFoundError(`Subaccount '${keyId}' does not exist, or you do not have access`);
  if (!/^[0-9a-f]{8}$/i.test(keyId)) throw notFound();
  const member = await services.members.show(actorOf(req), { keyId }).catch((error) => {
    throw error instanceof NotFoundError ? notFound() : error;
  });
  if (!isSubaccount(member)) throw notFound();
  return member;
}

async function listTransfers(services: Services, req: Request, kinds: readonly TransferKind[]) {
  const { primary } = await primaryAccount(services, req);
  const start = dateQuery(req.query.start_date, 'start_date');
  if (!start) throw new ValidationError('start_date', 'start_date is required, e.g. 2019-07-15T13:11:44Z');
  const end = dateQuery(req.query.end_date, 'end_date');
  const keys = req.query.subaccount === undefined ? [] : [req.query.subaccount].flat().map(String);
  const memberIds = await Promise.all(keys.map(async (key) => (await subaccount(services, req, key)).id));
  if (kinds.length === 0) return [];
  const transfers = await services.ledger.between(actorOf(req), {
    kinds,
    start,
    end,
    memberIds: keys.length > 0 ? memberIds : null,
  });
  return transfers.map((t) => {
    const toMember = t.toMemberId !== null;
    return {
      id: t.id,
      json: {
        amount: microsToNumber(t.amount),
        from: toMember ? primary.keyId : t.memberKeyId,
        to: toMember ? t.memberKeyId : primary.keyId,
        reference: t.reason ?? '',
        created_at: vonageDate(t.createdAt),
      },
    };
  });
}

function primaryJson(owner: MemberView, team: TeamView) {
  return {
    api_key: owner.keyId,
    name: team.name,
    balance: microsToNumber(team.masterBalance),
    credit_limit: creditLimitNumber(team.creditLimit),
    suspended: false,
    created_at: vonageDate(team.createdAt),
  };
}

function subaccountJson(member: MemberView, primaryKeyId: string) {
  return {
    api_key: member.keyId,
    name: member.name,
    primary_account_api_key: primaryKeyId,
    use_primary_account_balance: member.sharesMasterBalance,
    created_at: vonageDate(member.createdAt),
    suspended: member.status === 'inactive',
    // Vonage: null when the balance is shared with the primary account.
    balance: member.sharesMasterBalance ? null : microsToNumber(member.balance),
    credit_limit: member.sharesMasterBalance ? null : creditLimitNumber(member.creditLimit),
  };
}

/**
 * Vonage writes a credit limit as the lowest the balance may reach (its reference shows
 * `"credit_limit": -100.25`); teamops keeps it as a positive amount.
 */
function creditLimitNumber(creditLimit: bigint): number {
  return creditLimit === 0n ? 0 : -microsToNumber(creditLimit);
}

/** Vonage writes times as 2018-03-02T16:34:49Z, without fractions of a second. */
function vonageDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function dateQuery(value: unknown, field: string): Date | null {
  if (value === undefined || value === '') return null;
  const date =
    typeof value === 'string' && /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)
      ? new Date(value)
      : null;
  if (!date || Number.isNaN(date.getTime())) {
    throw new ValidationError(field, `${field} must be a date and time like 2019-07-15T13:11:44Z`);
  }
  return date;
}

function booleanField(body: Record<string, unknown>, field: string): boolean | null {
  const value = body[field];
  if (value === undefined) return null;
  if (typeof value !== 'boolean') throw new ValidationError(field, "Should be either 'true' or 'false'");
  return value;
}

function keyField(body: Record<string, unknown>, field: string): string {
  const value = body[field];
  if (typeof value !== 'string' || !/^[0-9a-f]{8}$/i.test(value)) {
    throw new ValidationError(field, `${field} is required: an account's api_key`);
  }
  return value.toLowerCase();
}

interface Problem {
  type: string;
  title: string;
  detail: string;
  instance: string;
  invalid_parameters?: { name: string; reason: string }[];
}

const PROBLEMS: Record<number, { type: string; title: string }> = {
  401: { type: 'https://developer.nexmo.com/api-errors#unauthorized', title: 'Invalid credentials supplied' },
  403: { type: 'https://developer.nexmo.com/api-errors#unprovisioned', title: 'Authorisation error' },
  404: { type: 'https://developer.nexmo.com/api-errors#invalid-api-key', title: 'Invalid API Key' },
  422: {
    type: 'https://developer.nexmo.com/api-errors/account/subaccounts#validation',
    title: 'Bad Request',
  },
  429: { type: 'https://developer.nexmo.com/api-errors#throttled', title: 'Rate Limit Hit' },
  500: { type: 'https://developer.nexmo.com/api-errors#internal-error', title: 'Internal Error' },
};

/**
 * A transfer the ledger refuses (more than is there to move, an account that cannot take part:
 * shared balance, suspended for credit) is what Vonage calls an invalid transfer: 403 with its
 * `invalid-transfer` problem, as Vonage answers a refused number transfer.
 */
class InvalidTransferError extends Error {}

async function refusedAsInvalidTransfer<T>(transfer: Promise<T>): Promise<T> {
  try {
    return await transfer;
  } catch (error) {
    if (isDomainError(error) && (error.code === 'insufficient_funds' || error.code === 'conflict')) {
      throw new InvalidTransferError(error.message);
    }
    throw error;
  }
}

function invalidTransfer(detail: string): Problem {
  return {
    type: 'https://developer.nexmo.com/api-errors/subaccounts#invalid-transfer',
    title: 'Invalid Transfer',
    detail,
    instance: randomBytes(16).toString('hex'),
  };
}

/**
 * Vonage's error shape: type, title, detail and an instance id (here a fresh id per error, which
 * is also logged for 5xx so a report can be traced).
 */
function problem(status: number, detail: string, field?: string): Problem {
  const { type, title } = PROBLEMS[status] ?? PROBLEMS[500]!;
  return {
    type,
    title,
    detail,
    instance: randomBytes(16).toString('hex'),
    ...(status === 422 ? { invalid_parameters: field ? [{ name: field, reason: detail }] : [] } : {}),
  };
}

/**
 * Only the codes Vonage documents for this API: 401, 403 (also an invalid transfer, above), 404,
 * 422 (anything else wrong with the request), 429 and 5xx.
 */
export function vonageStatus(status: number): number {
  if (status === 401 || status === 403 || status === 404 || status === 429 || status >= 500) return status;
  return 422;
}

function errorHandler(logger: AppDeps['logger']): ErrorRequestHandler {
  return (error, req, res, _next) => {
    if (error instanceof InvalidTransferError) {
      res.status(403).json(invalidTransfer(error.message));
      return;
    }
    const { status, body } = describeError(error);
    const code = vonageStatus(status);
    const answer = problem(
      code,
      body.error.message,
      body.error.field ?? (status === 402 ? 'amount' : undefined),
    );
    if (status >= 500) {
      logger.error(
        { err: error, method: req.method, path: req.path, instance: answer.instance },
        'request failed',
      );
    }
    res.status(code).json(answer);
  };
}

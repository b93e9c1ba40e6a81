import { z } from 'zod';
import { DELIVERY_STATUSES, INVITATION_STATUSES } from '../../invitations/invitation.entity.ts';
import { TRANSFER_KINDS } from '../../ledger/transfer.entity.ts';
import { MEMBER_STATUSES, ROLES } from '../../members/member.entity.ts';
import { ENCODINGS, MESSAGE_STATUSES } from '../../messaging/message.entity.ts';
import { GROUPINGS, PERIODS } from '../../stats/stats.service.ts';

/**
 * The native API's schemas, once: requests are parsed with them at the edge, and
 * /api/v1/openapi.json is generated from them (openapi.ts). A schema with an `id` becomes a
 * named component of the document. Rules (ranges of money, who may do what) stay in the services.
 */

// ── inputs ────────────────────────────────────────────────────────────────────────────────────

/** A query or path value: given once, as text (`?a=1&a=2` is refused, not half-read). */
export const text = (field: string, description?: string) =>
  z.string({ error: `${field} must be given once, as text` }).meta({ description });

export const optionalText = (field: string, description?: string) => text(field, description).optional();

/** How many items a page holds: a whole number in range, or the default when absent. */
export function limitQuery(max: number, fallback: number) {
  const error = `limit must be a whole number from 1 to ${max}`;
  return z.coerce
    .number({ error })
    .int({ error })
    .min(1, { error })
    .max(max, { error })
    .optional()
    .meta({ description: `Items per page (default ${fallback}, at most ${max})` });
}

/** The `next_cursor` of the previous page; absent for the first. */
export const cursorQuery = z
  .string({ error: 'cursor must be given once, as text' })
  .regex(/^\d{1,19}$/, { error: 'cursor must be the next_cursor of an earlier page' })
  // Ids are PostgreSQL bigints: a cursor past the largest can only be made up.
  // zod runs this check even after the regex failed: a cursor that is not digits is left to it.
  .refine((cursor) => !/^\d{1,19}$/.test(cursor) || BigInt(cursor) <= 9_223_372_036_854_775_807n, {
    error: 'cursor must be the next_cursor of an earlier page',
  })
  .optional()
  .meta({ description: 'next_cursor of the previous page' });

export const memberPath = text('member', 'A member id, or its email').meta({
  examples: ['42', 'sales@acme.test'],
});

/** A numeric id in the path; `what` completes "id must be …". */
export const numericId = (description: string, what: string) =>
  text('id', description).regex(/^\d{1,18}$/, { error: `id must be ${what}` });

export const moneyInput = z
  .union([z.string(), z.number().min(0)], { error: 'must be a number like 50 or 12.5' })
  .meta({
    id: 'MoneyInput',
    description: 'A positive amount: a decimal string or a JSON number, at most 6 decimals',
    examples: ['50', 12.5],
  });

// ── outputs ───────────────────────────────────────────────────────────────────────────────────

const dateTime = z.iso.datetime();
const day = z.iso.date();

export const Money = z.string().meta({
  id: 'Money',
  description: 'An exact decimal amount in the team’s currency, at least 2 and at most 6 decimals',
  examples: ['12.50', '0.075'],
});

export const ERROR_CODES = [
  'validation',
  'not_found',
  'forbidden',
  'unauthenticated',
  'insufficient_funds',
  'spending_limit',
  'conflict',
  'bad_request',
  'method_not_allowed',
  'unsupported_media_type',
  'rate_limited',
  'internal',
] as const;

export const ApiError = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string().meta({ description: 'What is wrong, written for the person who asked' }),
      field: z.string().optional().meta({ description: 'For validation errors: the input at fault' }),
    }),
  })
  .meta({ id: 'Error' });
export type ApiErrorBody = z.infer<typeof ApiError>;

export const Team = z
  .object({
    id: z.number().int(),
    name: z.string(),
    currency: z.string().meta({ description: 'ISO 4217 code' }),
    master_balance: Money,
    credit_limit: Money.meta({
      description: "The primary account's own credit limit: how far below zero the master balance may go",
    }),
    slack_team_id: z.string().nullable(),
    alerts_channel: z.string().nullable(),
    low_balance_level: Money,
    timezone: z.string().meta({
      description: 'IANA zone of the team’s days and months (statistics, spending limits, digests)',
    }),
    created_at: dateTime,
  })
  .meta({ id: 'Team' });

export const Member = z
  .object({
    id: z.number().int(),
    name: z.string(),
    email: z.string().nullable(),
    role: z.enum(ROLES),
    status: z.enum(MEMBER_STATUSES),
    balance: Money,
    credit_limit: Money.meta({
      description: 'How far below zero the balance may go: credit limit lent by the primary account',
    }),
    api_key: z.string().meta({ description: 'The key, masked: only its first characters' }),
    slack_user_id: z.string().nullable(),
    username: z.string().meta({ description: 'Login name for Textmagic clients; unique, changeable' }),
    key_id: z
      .string()
      .meta({ description: 'Public account id (8 hex characters): the api_key of Vonage clients' }),
    shares_master_balance: z.boolean().meta({ description: 'Sends are paid from the master balance' }),
    created_at: dateTime,
    closed_at: dateTime.nullable(),
  })
  .meta({ id: 'Member' });

export const MemberWithKey = Member.extend({
  api_key: z.string().meta({ description: 'The full API key: shown this once, never again' }),
}).meta({ id: 'MemberWithKey' });

export const AutoRechargeSettings = z
  .object({ threshold: Money, amount: Money, daily_cap: Money.nullable() })
  .meta({ id: 'AutoRechargeSettings' });

export const SpendingLimit = z
  .object({
    monthly: Money.meta({ description: 'What the member may spend per calendar month (team’s timezone)' }),
    month: z.string().meta({ description: 'This month, YYYY-MM in the team’s timezone' }),
    spent_this_month: Money.meta({ description: 'Charges minus refunds this month' }),
    remaining: Money.meta({ description: 'What may still be spent this month' }),
  })
  .meta({ id: 'SpendingLimit' });

export const MemberDetails = Member.extend({
  auto_recharge: AutoRechargeSettings.nullable(),
  spending_limit: SpendingLimit.nullable(),
}).meta({
  id: 'MemberDetails',
});

export const ClosedMember = Member.extend({ returned_to_master: Money }).meta({ id: 'ClosedMember' });

export const AutoRechargeRule = AutoRechargeSettings.extend({ member_id: z.number().int() }).meta({
  id: 'AutoRechargeRule',
});

export const MoveResult = z
  .object({
    transfer_id: z.string(),
    kind: z.enum(['credit', 'debit']),
    amount: Money,
    currency: z.string(),
    member: Member,
    master_balance: Money,
    replayed: z.boolean(),
  })
  .meta({ id: 'MoveResult' });

export const Transfer = z
  .object({
    id: z.string(),
    kind: z.enum(TRANSFER_KINDS),
    amount: Money,
    from_member_id: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'null: the master balance, or outside for top-ups and charges' }),
    to_member_id: z.number().int().nullable(),
    reason: z.string().nullable(),
    via: z.string(),
    master_balance_after: Money.nullable(),
    member_balance_after: Money.nullable(),
    created_at: dateTime,
  })
  .meta({ id: 'Transfer' });

export const Invitation = z
  .object({
    id: z.number().int(),
    email: z.string().nullable(),
    role: z.enum(['admin', 'user']),
    status: z.enum(INVITATION_STATUSES),
    delivery_status: z.enum(DELIVERY_STATUSES).meta({
      description: 'queued until delivered (sent) or given up (failed); stays queued while attempts remain',
    }),
    delivery_error: z.string().nullable().meta({
      description:
        'The last failed attempt’s reason: while retrying (still queued) and once failed; null once sent',
    }),
    delivery_attempts: z.number().int().meta({ description: 'Delivery attempts made so far' }),
    delivery_max_attempts: z
      .number()
      .int()
      .nullable()
      .meta({ description: 'How many attempts delivery gets in all; null before the first' }),
    invited_by: z.string().nullable(),
    member_id: z
      .number()
      .int()
      .meta({ description: 'The reserved sub-account, status invited until accepted' }),
    expires_at: dateTime,
    created_at: dateTime,
  })
  .meta({ id: 'Invitation' });

const someone = z.object({ id: z.number().int(), name: z.string() });

export const RoleRequest = z
  .object({
    id: z.number().int(),
    member: someone,
    from_role: z.enum(ROLES),
    to_role: z.enum(ROLES),
    status: z.enum(['pending', 'approved', 'denied']),
    requested_by: someone,
    decided_by: someone.nullable(),
    decided_at: dateTime.nullable(),
    created_at: dateTime,
  })
  .meta({ id: 'RoleRequest' });

export const CreditRequest = z
  .object({
    id: z.number().int(),
    member: someone,
    amount: Money,
    reason: z.string().nullable(),
    status: z.enum(['open', 'approved', 'denied', 'expired']),
    decided_by: someone.nullable(),
    decided_at: dateTime.nullable().meta({ description: 'When it was decided, or when it expired' }),
    transfer_id: z.string().nullable().meta({ description: 'The credit an approval made' }),
    expires_at: dateTime,
    created_at: dateTime,
  })
  .meta({ id: 'CreditRequest' });

export const AuditEvent = z
  .object({
    id: z.string(),
    action: z.string(),
    actor: z.object({ kind: z.string(), member_id: z.number().int().nullable() }),
    via: z.string(),
    subject_member_id: z.number().int().nullable(),
    details: z.record(z.string(), z.unknown()),
    created_at: dateTime,
  })
  .meta({ id: 'AuditEvent' });

export const SentMessage = z
  .object({
    id: z.string(),
    to: z.string().meta({ description: 'E.164' }),
    parts: z.number().int(),
    cost: Money,
    status: z.enum(MESSAGE_STATUSES),
    balance: Money,
    currency: z.string(),
  })
  .meta({ id: 'SentMessage' });

export const LoggedMessage = z
  .object({
    id: z.string(),
    member: someone,
    to: z.string(),
    message: z.string(),
    sender_id: z.string().nullable(),
    encoding: z.enum(ENCODINGS),
    parts: z.number().int(),
    unit_price: Money,
    cost: Money,
    status: z.enum(MESSAGE_STATUSES),
    error: z.string().nullable(),
    refunded: z.boolean(),
    created_at: dateTime,
    sent_at: dateTime.nullable(),
    finished_at: dateTime.nullable(),
  })
  .meta({ id: 'LoggedMessage' });

export const StatsTotals = z
  .object({
    messages: z.number().int(),
    parts: z.number().int(),
    cost: Money,
    charged: Money,
    refunded: Money,
    delivered: z.number().int(),
    failed: z.number().int(),
    pending: z.number().int(),
  })
  .meta({ id: 'StatsTotals' });

export const StatsDay = StatsTotals.extend({ day }).meta({ id: 'StatsDay' });
const withDays = StatsTotals.extend({ days: z.array(StatsDay).optional() });

export const Stats = z
  .object({
    currency: z.string(),
    timezone: z.string().meta({ description: 'The team’s timezone: the days of from, to and each day' }),
    from: day,
    to: day,
    group_by: z.enum(GROUPINGS),
    team: withDays.nullable().meta({
      description: 'The whole team; null when the question was about one member or asked by a user',
    }),
    members: z.array(withDays.extend({ member: someone })),
  })
  .meta({ id: 'Stats' });

export { GROUPINGS, PERIODS };

/** One page of a list: every list of the API pages the same way. */
export function pageOf<T extends z.ZodType>(item: T, extra: z.ZodRawShape = {}) {
  return z.object({
    items: z.array(item),
    next_cursor: z
      .string()
      .nullable()
      .meta({ description: 'Pass as `cursor` for the next page; null on the last' }),
    ...extra,
  });
}

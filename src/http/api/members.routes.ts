import type { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../../app.ts';
import { MEMBER_STATUSES } from '../../members/member.entity.ts';
import { type AnyEndpoint, endpoint, registerEndpoints } from './endpoint.ts';
import { memberJson, money, spendingLimitJson, teamJson, transferJson } from './json.ts';
import { keysetPage, offsetPage } from './pagination.ts';
import { parseMemberRef } from './request.ts';
import {
  AutoRechargeRule,
  ClosedMember,
  cursorQuery,
  limitQuery,
  Member,
  MemberDetails,
  MemberWithKey,
  MoveResult,
  memberPath,
  moneyInput,
  optionalText,
  pageOf,
  SpendingLimit,
  Team,
  Transfer,
} from './schemas.ts';

/**
 * The team page and everything an owner or admin does to sub-accounts, through the same service
 * calls as the Slack commands: create, show, enable/disable, close, rotate the key, move money,
 * auto-recharge, and the transfer history.
 */
const member = z.object({ member: memberPath });

const moneyBody = z.object({
  amount: moneyInput,
  reason: z.string({ error: 'reason must be text' }).nullish(),
});

function moneyEndpoint(kind: 'credit' | 'debit', operationId: string, summary: string) {
  return endpoint({
    method: 'post',
    path: `/members/{member}/${kind}`,
    operationId,
    summary,
    tag: 'money',
    params: member,
    body: moneyBody,
    idempotent: true,
    responses: {
      '201': { description: 'Moved', schema: MoveResult },
      '200': {
        description: 'A replay of an earlier request with the same Idempotency-Key: nothing moved again',
        schema: MoveResult,
        replayed: true,
      },
    },
    errors: ['402', '403', '404', '409', '422'],
    async handle({ params, body, actor, services, req, res }) {
      const result = await services.ledger[kind](actor, {
        member: parseMemberRef(params.member),
        amount: body.amount,
        reason: body.reason ?? null,
        idempotencyKey: req.get('idempotency-key') ?? null,
      });
      if (result.replayed) res.set('Idempotent-Replayed', 'true');
      res.status(result.replayed ? 200 : 201).json(transferJson(result));
    },
  });
}

function statusEndpoint(change: 'enable' | 'disable', operationId: string, summary: string) {
  return endpoint({
    method: 'post',
    path: `/members/{member}/${change}`,
    operationId,
    summary,
    tag: 'members',
    params: member,
    responses: { '200': { description: 'The member', schema: Member } },
    errors: ['403', '404', '409', '422'],
    async handle({ params, actor, services, res }) {
      res.json(memberJson(await services.members[change](actor, parseMemberRef(params.member))));
    },
  });
}

export const endpoints: AnyEndpoint[] = [
  endpoint({
    method: 'get',
    path: '/team',
    operationId: 'getTeam',
    summary: 'The caller’s team and its master balance',
    tag: 'team',
    responses: { '200': { description: 'The team', schema: Team } },
    errors: ['403'],
    async handle({ actor, services, res }) {
      res.json(teamJson(await services.teams.get(actor)));
    },
  }),
  endpoint({
    method: 'patch',
    path: '/team',
    operationId: 'updateTeam',
    summary: 'Set the team’s timezone (its days, months and digests)',
    tag: 'team',
    body: z.object({
      timezone: z
        .string({ error: 'timezone must be text: an IANA time zone like Europe/Athens' })
        .meta({ description: 'IANA time zone, like Europe/Athens or America/New_York' }),
    }),
    responses: { '200': { description: 'The team', schema: Team } },
    errors: ['403', '422'],
    async handle({ body, actor, services, res }) {
      res.json(teamJson(await services.teams.setTimezone(actor, { timezone: body.timezone })));
    },
  }),
  endpoint({
    method: 'get',
    path: '/members',
    operationId: 'listMembers',
    summary: 'The team page: every sub-account (a user sees only its own)',
    tag: 'members',
    query: z.object({
      status: z
        .enum(MEMBER_STATUSES, { error: `status must be one of ${MEMBER_STATUSES.join(', ')}` })
        .optional()
        .meta({ description: 'Only members with this status' }),
      cursor: cursorQuery,
      limit: limitQuery(100, 20),
    }),
    responses: {
      '200': {
        description: 'One page of members',
        schema: pageOf(Member, { total: z.number().int().meta({ description: 'Members in all' }) }),
      },
    },
    errors: ['403', '422'],
    async handle({ query, actor, services, res }) {
      const page = await services.members.list(actor, {
        status: query.status ?? null,
        page: query.cursor ? Number(query.cursor) : 1,
        limit: query.limit ?? 20,
      });
      res.json({ ...offsetPage(page, memberJson), total: page.total });
    },
  }),
  endpoint({
    method: 'post',
    path: '/members',
    operationId: 'createMember',
    summary: 'Create an auto-generated sub-account; its API key is shown once',
    tag: 'members',
    body: z.object({
      name: z.string({ error: 'name must be text' }).optional(),
      email: z.string({ error: 'email must be text' }).nullish(),
    }),
    responses: { '201': { description: 'The new member with its full key', schema: MemberWithKey } },
    errors: ['403', '409', '422'],
    async handle({ body, actor, services, res }) {
      const { member, apiKey } = await services.members.create(actor, {
        name: body.name ?? '',
        email: body.email ?? null,
      });
      // The only time the key is ever shown.
      res.status(201).json({ ...memberJson(member), api_key: apiKey });
    },
  }),
  endpoint({
    method: 'get',
    path: '/members/{member}',
    operationId: 'getMember',
    summary: 'One member, with its auto-recharge rule and monthly spending limit',
    tag: 'members',
    params: member,
    responses: { '200': { description: 'The member', schema: MemberDetails } },
    errors: ['403', '404', '422'],
    async handle({ params, actor, services, res }) {
      const shown = await services.members.show(actor, parseMemberRef(params.member));
      res.json({
        ...memberJson(shown),
        auto_recharge: shown.autoRecharge && {
          threshold: money(shown.autoRecharge.threshold),
          amount: money(shown.autoRecharge.amount),
          daily_cap: money(shown.autoRecharge.dailyCap),
        },
        spending_limit: shown.spendingLimit && spendingLimitJson(shown.spendingLimit),
      });
    },
  }),
  endpoint({
    method: 'patch',
    path: '/members/{member}',
    operationId: 'updateMember',
    summary:
      'Rename a member, change its username (members may change their own), or switch how its sends are paid',
    tag: 'members',
    params: member,
    body: z.object({
      name: z.string({ error: 'name must be text' }).nullish(),
      username: z.string({ error: 'username must be text' }).nullish(),
      shares_master_balance: z
        .boolean({ error: 'shares_master_balance must be true or false' })
        .nullish()
        .meta({ description: 'Pay this member’s sends from the master balance (its own must be zero)' }),
    }),
    responses: { '200': { description: 'The member', schema: Member } },
    errors: ['403', '404', '409', '422'],
    async handle({ params, body, actor, services, res }) {
      const updated = await services.members.update(actor, parseMemberRef(params.member), {
        name: body.name ?? null,
        username: body.username ?? null,
        sharesMasterBalance: body.shares_master_balance ?? null,
      });
      res.json(memberJson(updated));
    },
  }),
  endpoint({
    method: 'delete',
    path: '/members/{member}',
    operationId: 'closeMember',
    summary: 'Close a sub-account: its balance returns to the master',
    tag: 'members',
    params: member,
    responses: { '200': { description: 'The closed member', schema: ClosedMember } },
    errors: ['403', '404', '409', '422'],
    async handle({ params, actor, services, res }) {
      const { member, returned } = await services.members.close(actor, parseMemberRef(params.member));
      res.json({ ...memberJson(member), returned_to_master: money(returned) });
    },
  }),
  statusEndpoint('enable', 'enableMember', 'Activate a member'),
  statusEndpoint('disable', 'disableMember', 'Deactivate a member: its key is refused until enabled'),
  endpoint({
    method: 'post',
    path: '/members/{member}/key',
    operationId: 'rotateKey',
    summary: 'Rotate the member’s API key; the new key is shown once',
    tag: 'members',
    params: member,
    responses: { '200': { description: 'The member with its new key', schema: MemberWithKey } },
    errors: ['403', '404', '409', '422'],
    async handle({ params, actor, services, res }) {
      const { member, apiKey } = await services.members.rotateKey(actor, parseMemberRef(params.member));
      res.json({ ...memberJson(member), api_key: apiKey });
    },
  }),
  moneyEndpoint('credit', 'creditMember', 'Move money from the master balance to the member'),
  moneyEndpoint('debit', 'debitMember', 'Move money from the member back to the master balance'),
  endpoint({
    method: 'put',
    path: '/members/{member}/auto-recharge',
    operationId: 'setAutoRecharge',
    summary: 'Top the member up from the master when its balance runs low',
    tag: 'money',
    params: member,
    body: z.object({ threshold: moneyInput, amount: moneyInput, daily_cap: moneyInput.nullish() }),
    responses: { '200': { description: 'The rule', schema: AutoRechargeRule } },
    errors: ['403', '404', '409', '422'],
    async handle({ params, body, actor, services, res }) {
      const rule = await services.autoRecharge.set(actor, {
        member: parseMemberRef(params.member),
        threshold: body.threshold,
        amount: body.amount,
        dailyCap: body.daily_cap ?? null,
      });
      res.json({
        member_id: rule.memberId,
        threshold: money(rule.threshold),
        amount: money(rule.amount),
        daily_cap: money(rule.dailyCap),
      });
    },
  }),
  endpoint({
    method: 'delete',
    path: '/members/{member}/auto-recharge',
    operationId: 'removeAutoRecharge',
    summary: 'Remove the member’s auto-recharge rule',
    tag: 'money',
    params: member,
    responses: { '204': { description: 'Removed' } },
    errors: ['403', '404', '422'],
    async handle({ params, actor, services, res }) {
      const { removed } = await services.autoRecharge.off(actor, parseMemberRef(params.member));
      res.status(removed ? 204 : 404).end();
    },
  }),
  endpoint({
    method: 'put',
    path: '/members/{member}/spending-limit',
    operationId: 'setSpendingLimit',
    summary: 'Cap what the member may spend per calendar month (team’s timezone); sends beyond it get 402',
    tag: 'money',
    params: member,
    body: z.object({
      amount: moneyInput,
      period: z
        .string({ error: 'period must be text' })
        .nullish()
        .meta({ enum: ['monthly'], description: 'monthly (the default and only period)' }),
    }),
    responses: { '200': { description: 'The limit with this month’s spend', schema: SpendingLimit } },
    errors: ['403', '404', '409', '422'],
    async handle({ params, body, actor, services, res }) {
      const limit = await services.spendingLimits.set(actor, {
        member: parseMemberRef(params.member),
        amount: body.amount,
        period: body.period ?? null,
      });
      res.json(spendingLimitJson(limit));
    },
  }),
  endpoint({
    method: 'delete',
    path: '/members/{member}/spending-limit',
    operationId: 'removeSpendingLimit',
    summary: 'Remove the member’s monthly spending limit',
    tag: 'money',
    params: member,
    responses: { '204': { description: 'Removed' } },
    errors: ['403', '404', '422'],
    async handle({ params, actor, services, res }) {
      const { removed } = await services.spendingLimits.off(actor, parseMemberRef(params.member));
      res.status(removed ? 204 : 404).end();
    },
  }),
  endpoint({
    method: 'get',
    path: '/transfers',
    operationId: 'listTransfers',
    summary: 'Ledger entries, newest first',
    tag: 'money',
    query: z.object({
      member: optionalText('member', 'Only this member’s transfers (id or email)'),
      cursor: cursorQuery,
      limit: limitQuery(200, 50),
    }),
    responses: { '200': { description: 'One page of transfers', schema: pageOf(Transfer) } },
    errors: ['403', '404', '422'],
    async handle({ query, actor, services, res }) {
      const history = (before: string | null, limit: number) =>
        services.ledger.history(actor, {
          member: query.member ? parseMemberRef(query.member) : null,
          before,
          limit,
        });
      const page = await keysetPage(history, query.cursor ?? null, query.limit ?? 50, (t) => t.id);
      res.json({
        items: page.items.map((t) => ({
          id: t.id,
          kind: t.kind,
          amount: money(t.amount),
          from_member_id: t.fromMemberId,
          to_member_id: t.toMemberId,
          reason: t.reason,
          via: t.via,
          master_balance_after: money(t.masterBalanceAfter),
          member_balance_after: money(t.memberBalanceAfter),
          created_at: t.createdAt.toISOString(),
        })),
        next_cursor: page.nextCursor,
      });
    },
  }),
];

export function register(router: Router, deps: AppDeps): void {
  registerEndpoints(router, deps, endpoints);
}

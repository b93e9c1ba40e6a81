import type { Router } from 'express';
import type { AppDeps } from '../../app.ts';
import type { MoveResult } from '../../ledger/ledger.service.ts';
import { ValidationError } from '../../shared/errors.ts';
import { memberJson, money, teamJson } from './json.ts';
import { actorOf, amountField, bodyOf, optional, parseMemberRef, text } from './request.ts';

/**
 * The team page and everything an owner or admin does to sub-accounts, through the same service
 * calls as the Slack commands: create, show, enable/disable, close, rotate the key, move money,
 * auto-recharge, and the transfer history.
 */
export function register(router: Router, { services }: AppDeps): void {
  router.get('/team', async (req, res) => {
    res.json(teamJson(await services.teams.get(actorOf(req))));
  });

  router.get('/members', async (req, res) => {
    const page = await services.members.list(actorOf(req), {
      status: optional(req.query.status, 'status') ?? null,
      page: Number(optional(req.query.page, 'page') ?? 1) || 1,
      limit: Number(optional(req.query.limit, 'limit') ?? 20) || 20,
    });
    res.json({ items: page.items.map(memberJson), total: page.total, page: page.page, limit: page.limit });
  });

  router.post('/members', async (req, res) => {
    const body = bodyOf(req);
    const { member, apiKey } = await services.members.create(actorOf(req), {
      name: typeof body.name === 'string' ? body.name : '',
      email: typeof body.email === 'string' ? body.email : null,
    });
    // The only time the key is ever shown.
    res.status(201).json({ ...memberJson(member), api_key: apiKey });
  });

  router.get('/members/:member', async (req, res) => {
    const member = await services.members.show(actorOf(req), ref(req.params.member));
    res.json({
      ...memberJson(member),
      auto_recharge: member.autoRecharge && {
        threshold: money(member.autoRecharge.threshold),
        amount: money(member.autoRecharge.amount),
        daily_cap: money(member.autoRecharge.dailyCap),
      },
    });
  });

  router.patch('/members/:member', async (req, res) => {
    const body = bodyOf(req);
    if (body.shares_master_balance !== undefined && typeof body.shares_master_balance !== 'boolean') {
      throw new ValidationError('shares_master_balance', 'shares_master_balance must be true or false');
    }
    const member = await services.members.update(actorOf(req), ref(req.params.member), {
      name: body.name == null ? null : text(body.name, 'name'),
      username: body.username == null ? null : text(body.username, 'username'),
      sharesMasterBalance: (body.shares_master_balance as boolean | undefined) ?? null,
    });
    res.json(memberJson(member));
  });

  router.post('/members/:member/enable', async (req, res) => {
    res.json(memberJson(await services.members.enable(actorOf(req), ref(req.params.member))));
  });

  router.post('/members/:member/disable', async (req, res) => {
    res.json(memberJson(await services.members.disable(actorOf(req), ref(req.params.member))));
  });

  router.delete('/members/:member', async (req, res) => {
    const { member, returned } = await services.members.close(actorOf(req), ref(req.params.member));
    res.json({ ...memberJson(member), returned_to_master: money(returned) });
  });

  router.post('/members/:member/key', async (req, res) => {
    const { member, apiKey } = await services.members.rotateKey(actorOf(req), ref(req.params.member));
    res.json({ ...memberJson(member), api_key: apiKey });
  });

  for (const kind of ['credit', 'debit'] as const) {
    router.post(`/members/:member/${kind}`, async (req, res) => {
      const body = bodyOf(req);
      const result = await services.ledger[kind](actorOf(req), {
        member: ref(req.params.member as string),
        amount: amountField(body, 'amount'),
        reason: typeof body.reason === 'string' ? body.reason : null,
        idempotencyKey: req.get('idempotency-key') ?? null,
      });
      if (result.replayed) res.set('Idempotent-Replayed', 'true');
      res.status(result.replayed ? 200 : 201).json(transferJson(result));
    });
  }

  router.put('/members/:member/auto-recharge', async (req, res) => {
    const body = bodyOf(req);
    const rule = await services.autoRecharge.set(actorOf(req), {
      member: ref(req.params.member),
      threshold: amountField(body, 'threshold'),
      amount: amountField(body, 'amount'),
      dailyCap:
        body.daily_cap === undefined || body.daily_cap === null ? null : amountField(body, 'daily_cap'),
    });
    res.json({
      member_id: rule.memberId,
      threshold: money(rule.threshold),
      amount: money(rule.amount),
      daily_cap: money(rule.dailyCap),
    });
  });

  router.delete('/members/:member/auto-recharge', async (req, res) => {
    const { removed } = await services.autoRecharge.off(actorOf(req), ref(req.params.member));
    res.status(removed ? 204 : 404).end();
  });

  router.get('/transfers', async (req, res) => {
    const member = optional(req.query.member, 'member');
    const transfers = await services.ledger.history(actorOf(req), {
      member: member ? parseMemberRef(member) : null,
      before: optional(req.query.before, 'before') ?? null,
      limit: Number(optional(req.query.limit, 'limit') ?? 50) || 50,
    });
    res.json({
      items: transfers.map((t) => ({
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
      next_before: transfers.length > 0 ? transfers.at(-1)!.id : null,
    });
  });
}

function ref(value: unknown) {
  return parseMemberRef(text(value, 'member'));
}

function transferJson(result: MoveResult) {
  return {
    transfer_id: result.transferId,
    kind: result.kind,
    amount: money(result.amount),
    currency: result.currency,
    member: memberJson(result.member),
    master_balance: money(result.masterBalance),
    replayed: result.replayed,
  };
}

import type { Router } from 'express';
import type { AppDeps } from '../../app.ts';
import { memberActor } from '../../shared/actor.ts';
import { microsToDecimal } from '../../shared/money.ts';
import type { DayStats, StatsTotals } from '../../stats/stats.service.ts';
import { optional, parseMemberRef } from './request.ts';

/**
 * GET /stats?member=&from=&to=&period=&group_by=day — messages, parts, cost, delivered and failed
 * per member and for the team, from the daily rollup. Days are UTC.
 */
export function register(router: Router, { services }: AppDeps): void {
  router.get('/stats', async (req, res) => {
    const q = req.query;
    const member = optional(q.member, 'member');
    const view = await services.stats.query(memberActor(req.member!.id, 'api'), {
      member: member === undefined ? undefined : parseMemberRef(member),
      from: optional(q.from, 'from'),
      to: optional(q.to, 'to'),
      period: optional(q.period, 'period'),
      groupBy: optional(q.group_by, 'group_by'),
    });
    res.json({
      currency: view.currency,
      from: view.from,
      to: view.to,
      group_by: view.groupBy,
      team: view.team && {
        ...totals(view.team),
        ...(view.team.days ? { days: view.team.days.map(day) } : {}),
      },
      members: view.members.map((m) => ({
        member: { id: m.memberId, name: m.name },
        ...totals(m),
        ...(m.days ? { days: m.days.map(day) } : {}),
      })),
    });
  });
}

function totals(t: StatsTotals) {
  return {
    messages: t.messages,
    parts: t.parts,
    cost: microsToDecimal(t.cost),
    charged: microsToDecimal(t.charged),
    refunded: microsToDecimal(t.refunded),
    delivered: t.delivered,
    failed: t.failed,
    pending: t.pending,
  };
}

function day(d: DayStats) {
  return { day: d.day, ...totals(d) };
}

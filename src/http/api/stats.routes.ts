import type { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../../app.ts';
import { microsToDecimal } from '../../shared/money.ts';
import type { DayStats, StatsTotals } from '../../stats/stats.service.ts';
import { type AnyEndpoint, endpoint, registerEndpoints } from './endpoint.ts';
import { parseMemberRef } from './request.ts';
import { GROUPINGS, optionalText, PERIODS, Stats } from './schemas.ts';

/**
 * GET /stats?member=&from=&to=&period=&group_by=day — messages, parts, cost, delivered and failed
 * per member and for the team, from the daily rollup. Days are the team's (its timezone). The service names a wrong
 * period, date or grouping.
 */
export const endpoints: AnyEndpoint[] = [
  endpoint({
    method: 'get',
    path: '/stats',
    operationId: 'getStats',
    summary: 'Messages, parts and cost per member and for the team (days in the team’s timezone)',
    tag: 'stats',
    query: z.object({
      member: optionalText('member', 'Only this member (id or email)'),
      period: optionalText('period', 'Instead of from/to').meta({ enum: [...PERIODS] }),
      from: optionalText('from', 'First day, YYYY-MM-DD').meta({ format: 'date' }),
      to: optionalText('to', 'Last day, YYYY-MM-DD').meta({ format: 'date' }),
      group_by: optionalText('group_by', 'total (default) or day').meta({ enum: [...GROUPINGS] }),
    }),
    responses: { '200': { description: 'Statistics', schema: Stats } },
    errors: ['403', '404', '422'],
    async handle({ query, actor, services, res }) {
      const view = await services.stats.query(actor, {
        member: query.member === undefined ? undefined : parseMemberRef(query.member),
        from: query.from,
        to: query.to,
        period: query.period,
        groupBy: query.group_by,
      });
      res.json({
        currency: view.currency,
        timezone: view.timezone,
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
    },
  }),
];

export function register(router: Router, deps: AppDeps): void {
  registerEndpoints(router, deps, endpoints);
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

import { beforeAll, describe, expect, it } from 'vitest';
import * as messagingRoutes from '../../src/http/api/messaging.routes.ts';
import { STATEMENT_TRANSFER_FIELDS } from '../../src/ledger/ledger.service.ts';
import { operator } from '../../src/shared/actor.ts';
import { localDay } from '../../src/stats/stats.service.ts';
import { useApi } from '../helpers/api.ts';
import { allBatches } from '../helpers/batches.ts';
import { seedTeam, useServices } from '../helpers/services.ts';
import { fund, instantMessaging } from './helpers.ts';

const h = useServices();
const api = useApi(h, [messagingRoutes]);
let team: Awaited<ReturnType<typeof seedTeam>>;
let lateEvening: string;

beforeAll(async () => {
  h.services.messaging = instantMessaging(h.orm);
  team = await seedTeam(h.services);
  await h.services.messaging.setPrice(operator, { teamId: team.team.id, prefix: 'default', price: '0.05' });
  await fund(h.services, team.owner.actor, team.user.id, '1');
  const sent = await api.call('POST', '/sms', team.user.apiKey, { to: '+4917012345678', message: 'late' });
  lateEvening = sent.json.id;
  // 23:30 UTC on 30 November is already 1 December in Berlin.
  await h.orm.em
    .fork()
    .getConnection()
    .execute(`update messages set created_at = '2026-11-30T23:30:00Z' where id = ?`, [lateEvening]);
});

const idsOn = async (day: string) =>
  (await api.call('GET', `/messages?from=${day}&to=${day}`, team.user.apiKey)).json.items.map(
    (m: { id: string }) => m.id,
  );

describe('a day in the message log filter', () => {
  it('is the UTC day for a team in UTC, and the local day once the team has a timezone', async () => {
    expect(await idsOn('2026-11-30')).toEqual([lateEvening]);
    expect(await idsOn('2026-12-01')).toEqual([]);

    await h.services.teams.setTimezone(team.owner.actor, { timezone: 'Europe/Berlin' });
    expect(await idsOn('2026-11-30')).toEqual([]);
    expect(await idsOn('2026-12-01')).toEqual([lateEvening]);
  });

  it('is the local day in the transfer statement too', async () => {
    await h.services.teams.setTimezone(team.owner.actor, { timezone: 'Pacific/Kiritimati' });
    const on = async (day: string) =>
      (await allBatches(await h.services.ledger.statement(team.owner.actor, { from: day, to: day }))).map(
        (fields) => fields[STATEMENT_TRANSFER_FIELDS.indexOf('kind')],
      );
    // The member was funded moments ago: on today's date in Kiritimati (UTC+14), not on the day before.
    const today = localDay(new Date(), 'Pacific/Kiritimati');
    const yesterday = new Date(Date.parse(`${today}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    expect(await on(today)).toContain('credit');
    expect(await on(yesterday)).toEqual([]);
  });
});

import { parse } from 'csv-parse/sync';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import * as membersRoutes from '../../src/http/api/members.routes.ts';
import * as messagingRoutes from '../../src/http/api/messaging.routes.ts';
import { openApiDocument } from '../../src/http/api/openapi.ts';
import * as statementsRoutes from '../../src/http/api/statements.routes.ts';
import { memberActor, operator } from '../../src/shared/actor.ts';
import { STATEMENT_HEADERS } from '../../src/statements/statement.service.ts';
import { useApi } from '../helpers/api.ts';
import { seedTeam, useServices } from '../helpers/services.ts';
import { eventually } from '../helpers/workers.ts';
import { fund, instantMessaging } from '../messaging/helpers.ts';

const h = useServices();
const api = useApi(h, [membersRoutes, messagingRoutes, statementsRoutes]);
let team: Awaited<ReturnType<typeof seedTeam>>;
/** A member whose name needs every kind of CSV quoting, and is not in Latin letters. */
let zoe: { id: number; apiKey: string };
const ZOE_NAME = 'Зоя "Zo" Петрова, 山田';
const TRICKY_REASON = 'top-up, "as agreed"\nsecond line; ünïcödé';
const TRICKY_TEXT = 'Hi, "friend"\r\nline two, 你好 👋';

type Row = Record<string, string>;

async function csvOf(path: string, key: string): Promise<{ response: Response; text: string; rows: Row[] }> {
  const response = await api.get(path, key);
  const text = await response.text();
  const rows = response.status === 200 ? (parse(text, { columns: true }) as Row[]) : [];
  return { response, text, rows };
}

beforeAll(async () => {
  h.services.messaging = instantMessaging(h.orm);
  team = await seedTeam(h.services);
  await h.services.messaging.setPrice(operator, { teamId: team.team.id, prefix: 'default', price: '0.05' });
  const created = await h.services.members.create(team.owner.actor, { name: ZOE_NAME });
  zoe = { id: created.member.id, apiKey: created.apiKey };
  await h.services.ledger.credit(team.owner.actor, {
    member: { id: zoe.id },
    amount: '2.5',
    reason: TRICKY_REASON,
  });
  await fund(h.services, team.owner.actor, team.user.id, '1.25');
  await h.services.messaging.send(memberActor(zoe.id, 'api'), { to: '+4917012345678', message: TRICKY_TEXT });
  await h.services.messaging.send(team.user.actor, { to: '+12025550123', message: 'plain' });
});

describe('GET /api/v1/transfers.csv', () => {
  it('has a header row of the JSON list’s field names plus the members’ names, and the same rows oldest first', async () => {
    const { response, text, rows } = await csvOf('/transfers.csv', team.owner.apiKey);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="transfers.csv"');
    expect(text.split('\r\n')[0]).toBe(STATEMENT_HEADERS.transfers.join(','));

    const json = await api.call('GET', '/transfers?limit=200', team.owner.apiKey);
    const listed = [...json.json.items].reverse();
    const jsonFields = Object.keys(listed[0]);
    expect(STATEMENT_HEADERS.transfers.filter((f) => !f.endsWith('_name'))).toEqual(jsonFields);
    expect(rows).toHaveLength(listed.length);
    rows.forEach((row, i) => {
      for (const field of jsonFields) expect(row[field], field).toBe(String(listed[i][field] ?? ''));
    });
  });

  it('quotes commas, quotes, line breaks and non-Latin names so that a CSV parser reads them back', async () => {
    const { text, rows } = await csvOf('/transfers.csv', team.owner.apiKey);
    const credit = rows.find((row) => row.to_member_id === String(zoe.id))!;
    expect(credit).toMatchObject({
      kind: 'credit',
      amount: '2.50',
      to_member_name: ZOE_NAME,
      from_member_name: '',
      reason: TRICKY_REASON,
    });
    // RFC 4180: a quote inside a quoted field is doubled; records end with CRLF.
    expect(text).toContain('"Зоя ""Zo"" Петрова, 山田"');
    expect(text.endsWith('\r\n')).toBe(true);
  });

  it('shows a user only its own transfers, and refuses it another member’s', async () => {
    const own = await csvOf('/transfers.csv', team.user.apiKey);
    expect(own.rows.length).toBeGreaterThan(0);
    for (const row of own.rows)
      expect([row.from_member_id, row.to_member_id]).toContain(String(team.user.id));

    const other = await api.call('GET', `/transfers.csv?member=${zoe.id}`, team.user.apiKey);
    expect(other.status).toBe(403);
    expect(other.json.error.code).toBe('forbidden');
  });

  it('filters by member and by dates, and names a bad filter', async () => {
    const zoes = await csvOf(`/transfers.csv?member=${zoe.id}`, team.admin.apiKey);
    expect(zoes.rows.map((row) => [row.kind, row.from_member_name, row.to_member_name])).toEqual([
      ['credit', '', ZOE_NAME],
      ['message_charge', ZOE_NAME, ''],
    ]);

    const future = await csvOf('/transfers.csv?from=2999-01-01', team.owner.apiKey);
    expect(future.response.status).toBe(200);
    expect(future.text).toBe(`${STATEMENT_HEADERS.transfers.join(',')}\r\n`);
    expect(future.response.headers.get('content-disposition')).toContain('transfers-from-2999-01-01.csv');

    const today = new Date().toISOString().slice(0, 10);
    const todays = await csvOf(`/transfers.csv?from=${today}&to=${today}`, team.owner.apiKey);
    expect(todays.rows.length).toBe((await csvOf('/transfers.csv', team.owner.apiKey)).rows.length);

    const badDate = await api.call('GET', '/transfers.csv?from=2026-13-01', team.owner.apiKey);
    expect(badDate.status).toBe(422);
    expect(badDate.json.error.field).toBe('from');
    const backwards = await api.call(
      'GET',
      '/transfers.csv?from=2026-11-02&to=2026-11-01',
      team.owner.apiKey,
    );
    expect(backwards.status).toBe(422);
    expect(backwards.json.error.field).toBe('to');
    const nobody = await api.call('GET', '/transfers.csv?member=999999', team.owner.apiKey);
    expect(nobody.status).toBe(404);
    const anonymous = await api.call('GET', '/transfers.csv', null);
    expect(anonymous.status).toBe(401);
  });
});

describe('GET /api/v1/messages.csv', () => {
  it('has the log’s fields with the member’s id and name, and the text as sent', async () => {
    const { response, rows } = await csvOf('/messages.csv', team.owner.apiKey);
    expect(response.status).toBe(200);
    expect(Object.keys(rows[0]!)).toEqual(STATEMENT_HEADERS.messages);
    const json = await api.call('GET', '/messages', team.owner.apiKey);
    const listed = [...json.json.items].reverse();
    expect(rows.map((row) => row.id)).toEqual(listed.map((m: { id: string }) => m.id));
    const zoes = rows.find((row) => row.member_id === String(zoe.id))!;
    expect(zoes).toMatchObject({
      member_name: ZOE_NAME,
      to: '+4917012345678',
      message: TRICKY_TEXT,
      cost: listed.find((m: { id: string }) => m.id === zoes.id).cost,
      refunded: 'false',
    });
  });

  it('takes the JSON list’s filters and authorization', async () => {
    const mine = await csvOf('/messages.csv', team.user.apiKey);
    expect(mine.rows.map((row) => row.message)).toEqual(['plain']);
    const forbidden = await api.call('GET', `/messages.csv?member=${zoe.id}`, team.user.apiKey);
    expect(forbidden.status).toBe(403);
    const byRecipient = await csvOf('/messages.csv?recipient=%2B12025550123', team.owner.apiKey);
    expect(byRecipient.rows.map((row) => row.member_id)).toEqual([String(team.user.id)]);
    const containing = await csvOf('/messages.csv?contains=friend', team.owner.apiKey);
    expect(containing.rows.map((row) => row.member_id)).toEqual([String(zoe.id)]);
    const badStatus = await api.call('GET', '/messages.csv?status=lost', team.owner.apiKey);
    expect(badStatus.status).toBe(422);
    expect(badStatus.json.error.field).toBe('status');
  });

  it('is in the OpenAPI document as CSV', () => {
    const operation = openApiDocument.paths['/messages.csv']!.get!;
    expect(operation.operationId).toBe('exportMessages');
    expect(Object.keys((operation.responses['200'] as { content: object }).content)).toEqual(['text/csv']);
    expect(openApiDocument.paths['/transfers.csv']?.get?.parameters?.map((p) => p.name)).toEqual([
      'member',
      'from',
      'to',
    ]);
  });
});

describe('a long statement', () => {
  const MANY = 60_000;

  // Tens of thousands of rows take a while on a loaded machine; nothing here is timed.
  beforeAll(async () => {
    const sql = new pg.Client({ connectionString: h.db.url });
    await sql.connect();
    try {
      await sql.query(
        `insert into transfers (team_id, kind, from_member_id, to_member_id, amount, idempotency_key, request_hash,
                                reason, actor_kind, actor_member_id, via, created_at)
         select $1, 'credit', null, $2, g, 'many-' || g, '', 'row ' || g, 'member', $3, 'api', now()
           from generate_series(1, $4::int) g`,
        [team.team.id, team.user.id, team.owner.id, MANY],
      );
    } finally {
      await sql.end();
    }
  });

  it('streams every row, in order', async () => {
    const { rows } = await csvOf(`/transfers.csv?member=${team.user.id}`, team.admin.apiKey);
    const generated = rows.filter((row) => row.reason!.startsWith('row '));
    expect(generated).toHaveLength(MANY);
    expect(generated.map((row) => row.amount).slice(0, 3)).toEqual(['0.000001', '0.000002', '0.000003']);
    const ids = rows.map((row) => BigInt(row.id!));
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
  }, 120_000);

  it('closes the database cursor when the client goes away halfway', async () => {
    const controller = new AbortController();
    const response = await api.get('/transfers.csv', team.owner.apiKey, { signal: controller.signal });
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    const sql = new pg.Client({ connectionString: h.db.url });
    await sql.connect();
    const cursors = async () => {
      const { rows } = await sql.query(
        `select count(*)::int as n from pg_stat_activity
          where datname = current_database() and state <> 'idle' and query like '%to_member_name%'
            and pid <> pg_backend_pid()`,
      );
      return rows[0].n as number;
    };
    try {
      // The client reads no further: the server waits for it, its cursor open on a pooled connection.
      expect(await cursors()).toBe(1);
      controller.abort();
      await eventually(async () => (await cursors()) === 0, {
        timeoutMs: 10_000,
        message: 'the statement query closed',
      });
    } finally {
      await sql.end();
    }
    // The pool works on: the connection came back.
    const after = await csvOf('/transfers.csv?from=2999-01-01', team.owner.apiKey);
    expect(after.response.status).toBe(200);
  }, 120_000);
});

describe('text a spreadsheet would run as a formula', () => {
  it('is written with a leading apostrophe in names, reasons and messages; amounts and numbers stay as they are', async () => {
    const other = await seedTeam(h.services);
    await h.services.messaging.setPrice(operator, {
      teamId: other.team.id,
      prefix: 'default',
      price: '0.05',
    });
    const { member, apiKey } = await h.services.members.create(other.owner.actor, { name: '@Mallory' });
    await h.services.ledger.credit(other.owner.actor, {
      member: { id: member.id },
      amount: '1',
      reason: '=HYPERLINK("http://evil.test","refund")',
    });
    await h.services.messaging.send(memberActor(member.id, 'api'), {
      to: '+4917012345678',
      message: '+SUM(1;2)',
    });
    await h.services.messaging.send(memberActor(member.id, 'api'), { to: '+4917012345678', message: '-2+3' });

    const transfers = await csvOf(`/transfers.csv?member=${member.id}`, other.owner.apiKey);
    const credit = transfers.rows.find((row) => row.kind === 'credit')!;
    expect(credit).toMatchObject({
      to_member_name: "'@Mallory",
      reason: `'=HYPERLINK("http://evil.test","refund")`,
      amount: '1.00',
    });
    const messages = await csvOf('/messages.csv', apiKey);
    expect(messages.rows.map((row) => row.message).sort()).toEqual(["'+SUM(1;2)", "'-2+3"]);
    for (const row of messages.rows) {
      expect(row.member_name).toBe("'@Mallory");
      expect(row.to).toBe('+4917012345678');
      expect(row.cost).toBe('0.05');
    }
    // The JSON lists keep the text as written.
    const json = await api.call('GET', `/transfers?member=${member.id}`, other.owner.apiKey);
    expect(json.json.items.map((t: { reason: string | null }) => t.reason)).toContain(
      '=HYPERLINK("http://evil.test","refund")',
    );
  });
});

describe('many long statements at once', () => {
  it('stream a few at a time, and the API keeps answering meanwhile', { timeout: 90_000 }, async () => {
    const big = await seedTeam(h.services);
    // 150,000 transfers of the team's user: a statement far larger than the sockets' buffers, so
    // a client that does not read keeps its statement open.
    await h.orm.em.getConnection().execute(
      `insert into transfers (team_id, kind, to_member_id, amount, idempotency_key, request_hash, actor_kind, via, created_at)
       select ?, 'credit', ?, 10000, 'bulk-' || g, '', 'operator', 'cli', now() - interval '1 day'
         from generate_series(1, 150000) g`,
      [big.team.id, big.user.id],
    );
    // More statements than the pool has connections (8 in tests); none of them is read.
    const aborts = Array.from({ length: 10 }, () => new AbortController());
    const statements = aborts.map((abort) =>
      api.get('/transfers.csv', big.owner.apiKey, { signal: abort.signal }).catch(() => null),
    );
    try {
      // One has begun to stream (its header and first rows are out).
      expect((await Promise.race(statements))?.status).toBe(200);
      // Without a cap the statements took every connection, and this waited for one until the
      // pool gave up (30 s) and answered with an error.
      const team = await api.call('GET', '/team', big.owner.apiKey);
      expect(team.status).toBe(200);
    } finally {
      for (const abort of aborts) abort.abort();
      await Promise.all(statements);
    }
    // The places come back: a statement read to its end works afterwards.
    const after = await api.get(`/transfers.csv?member=${big.admin.id}`, big.owner.apiKey);
    expect(after.status).toBe(200);
    await after.text();
  });
});

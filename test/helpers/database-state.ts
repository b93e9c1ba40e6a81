import { expect } from 'vitest';
import type { Orm } from '../../src/platform/database.ts';
import { queryAll } from '../../src/platform/sql.ts';

const tableLists = new WeakMap<Orm, Promise<{ name: string; columns: string[] }[]>>();

/** The application's tables and which of team_id / member_id they carry, read once per database. */
function applicationTables(orm: Orm) {
  let tables = tableLists.get(orm);
  if (!tables) {
    tables = queryAll<{ name: string; columns: string[] }>(
      orm.em.fork(),
      `select t.table_name as name,
              array(select c.column_name::text from information_schema.columns c
                     where c.table_schema = 'public' and c.table_name = t.table_name
                       and c.column_name in ('team_id', 'member_id')) as columns
         from information_schema.tables t
        where t.table_schema = 'public' and t.table_type = 'BASE TABLE' and t.table_name not like 'mikro_orm%'
        order by t.table_name`,
    );
    tableLists.set(orm, tables);
  }
  return tables;
}

/** One round trip: every chosen table's rows (filtered by `where`, which may use `?` params) as JSON. */
async function snapshot(
  orm: Orm,
  tables: { name: string; where: string }[],
  params: unknown[],
): Promise<Record<string, unknown[]>> {
  const parts = tables.map(
    ({ name, where }) =>
      `'${name}', (select coalesce(jsonb_agg(to_jsonb(t) order by t::text), '[]') from "${name}" t where ${where})`,
  );
  const row = await queryAll<{ state: Record<string, unknown[]> }>(
    orm.em.fork(),
    `select jsonb_build_object(${parts.join(', ')}) as state`,
    tables.flatMap(({ where }) => params.slice(0, (where.match(/\?/g) ?? []).length)),
  );
  return row[0]!.state;
}

/**
 * Every row of every application table, for "a refused call changed nothing" assertions: take
 * it before the call, compare after. A test file owns its database and runs its tests one after
 * another, so nothing else writes in between.
 */
export async function databaseState(orm: Orm): Promise<Record<string, unknown[]>> {
  const tables = await applicationTables(orm);
  return snapshot(
    orm,
    tables.map(({ name }) => ({ name, where: 'true' })),
    [],
  );
}

/**
 * Runs `call`, expects it to be refused with a typed error matching `expected` (code, message,
 * field), and checks that the database is exactly as before.
 */
export async function expectRefusedWithoutChange(
  orm: Orm,
  call: () => Promise<unknown>,
  expected: { code: string; message?: unknown; field?: string },
): Promise<void> {
  const before = await databaseState(orm);
  await expect(call()).rejects.toMatchObject(expected);
  expect(await databaseState(orm)).toEqual(before);
}

/**
 * The rows that belong to one team: its own row, every row carrying its team_id, and rows
 * hanging off its members. For "a member of another team changed nothing here" assertions,
 * where the other team's own rows may legitimately change.
 */
export async function teamState(orm: Orm, teamId: number): Promise<Record<string, unknown[]>> {
  const tables = await applicationTables(orm);
  const chosen = tables.flatMap(({ name, columns }) => {
    if (name === 'teams') return [{ name, where: 't.id = ?' }];
    if (columns.includes('team_id')) return [{ name, where: 't.team_id = ?' }];
    if (columns.includes('member_id'))
      return [{ name, where: 't.member_id in (select id from members where team_id = ?)' }];
    return [];
  });
  return snapshot(orm, chosen, [teamId]);
}

import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectOrm } from '../../src/orm.ts';
import type { Orm } from '../../src/platform/database.ts';
import { inPreparedTransaction, type PreparedStatement, runPrepared } from '../../src/platform/prepared.ts';
import { queryAll } from '../../src/platform/sql.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let db: TestDatabase;
let orm: Orm;

// One connection: every transaction below runs on the connection the one before it used.
beforeAll(async () => {
  db = await createTestDatabase();
  orm = await connectOrm(db.url, undefined, { pool: { min: 0, max: 1 } });
  await orm.em.getConnection().execute('create table probe (id int primary key)');
});
afterAll(async () => {
  await orm.close(true);
  await db.drop();
});

const INSERT: PreparedStatement = { name: 'test.probe-insert', text: 'insert into probe (id) values ($1)' };
const COUNT: PreparedStatement = { name: 'test.probe-count', text: 'select count(*)::int as n from probe' };

const ids = async () =>
  (await queryAll<{ id: number }>(orm.em.fork(), 'select id from probe order by id')).map((r) => r.id);

it('runs the statements in order in one transaction, each seeing what the ones before it wrote', async () => {
  const rows = await inPreparedTransaction<{ n: number }>(orm, [
    { statement: INSERT, values: [1] },
    { statement: INSERT, values: [2] },
    { statement: COUNT, values: [] },
  ]);
  expect(rows).toEqual([{ n: 2 }]);
  expect(await ids()).toEqual([1, 2]);
});

it('writes nothing when a statement fails, rejects with its error, and leaves the connection usable', async () => {
  const failing = inPreparedTransaction(orm, [
    { statement: INSERT, values: [3] },
    { statement: INSERT, values: [1] },
    { statement: INSERT, values: [4] },
  ]);
  await expect(failing).rejects.toMatchObject({ code: '23505' });
  expect(await ids()).toEqual([1, 2]);

  // The same connection, out of its aborted transaction: a plain statement and another
  // transaction work on it.
  expect(await runPrepared(orm, COUNT, [])).toEqual([{ n: 2 }]);
  await inPreparedTransaction(orm, [{ statement: INSERT, values: [5] }]);
  expect(await ids()).toEqual([1, 2, 5]);
});

import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Orm } from '../../src/platform/database.ts';
import { connectTestOrm, createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let db: TestDatabase;
let orm: Orm;

beforeAll(async () => {
  db = await createTestDatabase();
  orm = await connectTestOrm(db.url);
});
afterAll(async () => {
  await orm.close(true);
  await db.drop();
});

it('the committed migrations produce exactly the schema the entities describe (migration:check)', async () => {
  const diff = await orm.schema.getUpdateSchemaSQL({ wrap: false });
  expect(diff.trim()).toBe('');
  expect(await orm.migrator.checkSchema()).toBe(false);
});

import { defineEntity, type InferEntity, p } from '@mikro-orm/core';

/**
 * One row counting the changes to API keys' holders: the trigger on `members` (member.entity.ts)
 * bumps it in the transaction of every change the API's edge must see at once — a key rotated,
 * a member suspended, closed, renamed or given another role. A process reads it before trusting
 * what it remembers of a key (api-key-cache.ts); a change is visible there exactly when it
 * commits. Balance updates bump nothing.
 */
export const KeyHolderChanges = defineEntity({
  name: 'KeyHolderChanges',
  tableName: 'key_holder_changes',
  properties: {
    id: p.smallint().primary().autoincrement(false),
    version: p.bigint().default(0),
  },
  checks: [{ name: 'key_holder_changes_one_row', expression: 'id = 1' }],
});
export type IKeyHolderChanges = InferEntity<typeof KeyHolderChanges>;

import { expect } from 'vitest';
import type { Orm } from '../../src/platform/database.ts';
import { databaseState, expectRefusedWithoutChange, teamState } from './database-state.ts';

/** The vocabulary of the authorization matrices (test/authorization/): who calls, and what should happen. */

export const ROLES = ['owner', 'admin', 'user', 'outsider'] as const;
export type CallerRole = (typeof ROLES)[number];

/** `own team`: an outsider's call that names no team acts on its own team and leaves team A alone. */
export type Outcome = 'allowed' | 'forbidden' | 'not_found' | 'own team';

/** The owner and admins may; a user is forbidden; an outsider gets `outsider`. */
export function managersOnly(outsider: Outcome): Record<CallerRole, Outcome> {
  return { owner: 'allowed', admin: 'allowed', user: 'forbidden', outsider };
}

/** Every member of the team may; an outsider gets `outsider`. */
export function everyMember(outsider: Outcome): Record<CallerRole, Outcome> {
  return { owner: 'allowed', admin: 'allowed', user: 'allowed', outsider };
}

/**
 * Runs one case of a matrix. A refusal must change nothing. An allowed call (or an outsider's
 * call on its own team) is handed to `check` with its result and what `observe` saw before it;
 * a read-only call must leave the database as it was, and an outsider must leave team A alone.
 */
export async function expectOutcome<Context>(
  orm: Orm,
  c: {
    outcome: Outcome;
    role: CallerRole;
    teamId: number;
    readOnly?: boolean;
    context: Context;
    attempt: () => Promise<unknown>;
    observe?: (context: Context) => Promise<unknown>;
    check: (result: never, context: Context, before: unknown) => Promise<void> | void;
  },
): Promise<void> {
  if (c.outcome === 'forbidden' || c.outcome === 'not_found') {
    await expectRefusedWithoutChange(orm, c.attempt, { code: c.outcome });
    return;
  }
  const teamA = c.role === 'outsider' ? await teamState(orm, c.teamId) : null;
  const everything = c.readOnly ? await databaseState(orm) : null;
  const before = await c.observe?.(c.context);
  const result = await c.attempt();
  await c.check(result as never, c.context, before);
  if (everything) expect(await databaseState(orm)).toEqual(everything);
  if (teamA) expect(await teamState(orm, c.teamId)).toEqual(teamA);
}

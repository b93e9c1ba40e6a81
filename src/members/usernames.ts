import type { EntityManager } from '@mikro-orm/postgresql';
import { queryAll } from '../platform/sql.ts';
import { ValidationError } from '../shared/errors.ts';

const USERNAME = /^[a-z0-9](?:[a-z0-9._-]{0,58}[a-z0-9])?$/;

/**
 * "charles.conway" from charles.conway@example.com, or from the name "Charles Conway" when
 * there is no email: lowercase letters and digits joined by dots, as Textmagic usernames look.
 */
export function usernameBase(name: string, email: string | null): string {
  const source = email ? email.split('@')[0]! : name;
  const base = source
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '.')
    .replace(/^\.+|\.+$/g, '')
    .slice(0, 50)
    .replace(/\.+$/, '');
  return base || 'user';
}

/**
 * A username nobody has yet (usernames are unique across all teams, case-insensitively, as a
 * login name must be): the base itself, or the base with the first free number. Call it inside
 * the transaction that inserts the member: creations wanting the same base wait for each other
 * (a transaction lock on the base), so the second sees the first's row and takes the next number
 * instead of failing on the unique index.
 */
export async function freeUsername(em: EntityManager, name: string, email: string | null): Promise<string> {
  const base = usernameBase(name, email);
  await em.execute('select pg_advisory_xact_lock(hashtext(?))', [`username:${base}`]);
  const taken = new Set(
    (
      await queryAll<{ u: string }>(
        em,
        `select lower(username) as u from members where lower(username) = ? or lower(username) ~ ?`,
        [base, `^${base.replace(/\./g, '\\.')}\\.[0-9]+$`],
      )
    ).map((row) => row.u),
  );
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}.${n}`)) return `${base}.${n}`;
}

/** A username someone chose: 2–60 characters, lowercase letters, digits, dots, dashes, underscores. */
export function requireUsername(value: unknown): string {
  const text = typeof value === 'string' ? value.trim().toLowerCase() : '';
  if (!text) throw new ValidationError('username', 'username is required');
  if (text.length < 2 || text.length > 60 || !USERNAME.test(text)) {
    throw new ValidationError(
      'username',
      'username must be 2–60 characters: lowercase letters, digits, dots, dashes or underscores, starting and ending with a letter or digit',
    );
  }
  return text;
}

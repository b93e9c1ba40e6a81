/**
 * Every list of the native API pages the same way: `?cursor=&limit=` in, `{items, next_cursor}`
 * out, `next_cursor` null on the last page. The cursor is opaque to clients.
 */

/**
 * A newest-first list continued below an id. A full page asks for one more item, so the last
 * page says so instead of handing out a cursor to an empty page.
 */
export async function keysetPage<T>(
  fetch: (before: string | null, limit: number) => Promise<T[]>,
  cursor: string | null,
  limit: number,
  idOf: (item: T) => string | number,
): Promise<{ items: T[]; nextCursor: string | null }> {
  const items = await fetch(cursor, limit);
  if (items.length < limit) return { items, nextCursor: null };
  const last = String(idOf(items.at(-1)!));
  const more = await fetch(last, 1);
  return { items, nextCursor: more.length > 0 ? last : null };
}

/** A numbered page as the same convention: the cursor is the next page's number. */
export function offsetPage<T, R>(
  page: { items: T[]; total: number; page: number; limit: number },
  toJson: (item: T) => R,
): { items: R[]; next_cursor: string | null } {
  const more = page.page * page.limit < page.total;
  return { items: page.items.map(toJson), next_cursor: more ? String(page.page + 1) : null };
}

import { createHash, timingSafeEqual } from 'node:crypto';

/** A check of a presented secret against the configured one, in constant time whatever their lengths. */
export function secretMatcher(secret: string): (given: string | undefined) => boolean {
  const expected = digest(secret);
  return (given) => given !== undefined && timingSafeEqual(digest(given), expected);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

import { createHash, randomBytes } from 'node:crypto';

const KEY_PREFIX = 'tok_';

export interface IssuedKey {
  /** Shown to the person once; never stored. */
  key: string;
  hash: string;
  /** Stored and shown in lists so a key can be recognised without revealing it. */
  visiblePrefix: string;
}

/**
 * API keys carry 192 random bits, so a fast unsalted SHA-256 is enough to store them: there is
 * nothing to brute-force, and lookups by hash stay a single index probe.
 */
export function issueApiKey(): IssuedKey {
  const key = KEY_PREFIX + randomBytes(24).toString('base64url');
  return { key, hash: hashSecret(key), visiblePrefix: key.slice(0, KEY_PREFIX.length + 6) };
}

/** A key the client chose itself (a Vonage sub-account's secret): stored like any other, by its hash. */
export function chosenApiKey(key: string): IssuedKey {
  return { key, hash: hashSecret(key), visiblePrefix: key.slice(0, 4) };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** "tok_Ab12Cd••••••••" for lists and the team page. */
export function maskApiKey(visiblePrefix: string | null): string {
  return visiblePrefix ? `${visiblePrefix}••••••••` : '—';
}

/** A fresh single-use secret for invitation links. */
export function issueToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashSecret(token) };
}

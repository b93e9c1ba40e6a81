import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { TokenEncryptionConfig } from '../config.ts';

/**
 * Secrets the product must be able to read back (Slack tokens), encrypted at rest with
 * AES-256-GCM. Each sealed value names the key that sealed it (`keyId`: a fingerprint of the
 * key, never the key), so TOKEN_ENCRYPTION_KEY can be rotated: the new key seals, the keys in
 * TOKEN_ENCRYPTION_OLD_KEYS still open what they sealed until it is sealed again
 * (docs/slack.md, "Rotating TOKEN_ENCRYPTION_KEY").
 */

export interface Sealed {
  keyId: string;
  /** base64 of iv (12 bytes) ‖ auth tag (16 bytes) ‖ ciphertext. */
  ciphertext: string;
}

export class TokenKeyUnknownError extends Error {
  override name = 'TokenKeyUnknownError';
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

export class TokenCipher {
  readonly currentKeyId: string;
  readonly #keys = new Map<string, Buffer>();

  constructor(config: TokenEncryptionConfig) {
    const current = Buffer.from(config.current, 'base64');
    this.currentKeyId = keyIdOf(current);
    this.#keys.set(this.currentKeyId, current);
    for (const old of config.old) {
      const key = Buffer.from(old, 'base64');
      this.#keys.set(keyIdOf(key), key);
    }
  }

  /** `purpose` is bound into the tag: a sealed refresh token cannot be passed off as a bot token. */
  seal(plaintext: string, purpose: string): Sealed {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.currentKeyId)!, iv);
    cipher.setAAD(Buffer.from(purpose));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      keyId: this.currentKeyId,
      ciphertext: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64'),
    };
  }

  open(sealed: Sealed, purpose: string): string {
    const key = this.#keys.get(sealed.keyId);
    if (!key) {
      throw new TokenKeyUnknownError(
        `a stored token was sealed with key ${sealed.keyId}, which is neither TOKEN_ENCRYPTION_KEY nor in TOKEN_ENCRYPTION_OLD_KEYS`,
      );
    }
    const raw = Buffer.from(sealed.ciphertext, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(purpose));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
      'utf8',
    );
  }

  /** Whether a value is sealed with an old key and should be sealed again. */
  isStale(sealed: Pick<Sealed, 'keyId'>): boolean {
    return sealed.keyId !== this.currentKeyId;
  }
}

/** A public fingerprint of a key: 16 hex characters of its SHA-256. */
function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('teamops-token-key:').update(key).digest('hex').slice(0, 16);
}

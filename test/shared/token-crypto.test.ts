import { describe, expect, it } from 'vitest';
import { TokenCipher, TokenKeyUnknownError } from '../../src/shared/token-crypto.ts';

const oldKey = Buffer.alloc(32, 1).toString('base64');
const newKey = Buffer.alloc(32, 2).toString('base64');

describe('TokenCipher', () => {
  it('seals a token so that only the same key and purpose open it', () => {
    const cipher = new TokenCipher({ current: oldKey, old: [] });
    const sealed = cipher.seal('xoxb-secret-token', 'slack-bot-token');
    expect(sealed.ciphertext).not.toContain('xoxb');
    expect(Buffer.from(sealed.ciphertext, 'base64').toString('utf8')).not.toContain('secret');
    expect(cipher.open(sealed, 'slack-bot-token')).toBe('xoxb-secret-token');
    // Same token, fresh IV: equal tokens do not show as equal ciphertexts.
    expect(cipher.seal('xoxb-secret-token', 'slack-bot-token').ciphertext).not.toBe(sealed.ciphertext);
    expect(() => cipher.open(sealed, 'slack-refresh-token')).toThrow();
    const tampered = Buffer.from(sealed.ciphertext, 'base64');
    tampered[tampered.length - 1]! ^= 1;
    expect(() =>
      cipher.open({ ...sealed, ciphertext: tampered.toString('base64') }, 'slack-bot-token'),
    ).toThrow();
  });

  it('opens what an old key sealed after rotation, and names a key it does not have', () => {
    const before = new TokenCipher({ current: oldKey, old: [] });
    const sealed = before.seal('xoxb-rotated', 'slack-bot-token');
    const rotated = new TokenCipher({ current: newKey, old: [oldKey] });
    expect(rotated.currentKeyId).not.toBe(before.currentKeyId);
    expect(rotated.isStale(sealed)).toBe(true);
    expect(rotated.open(sealed, 'slack-bot-token')).toBe('xoxb-rotated');
    const forgotten = new TokenCipher({ current: newKey, old: [] });
    expect(() => forgotten.open(sealed, 'slack-bot-token')).toThrow(TokenKeyUnknownError);
    expect(() => forgotten.open(sealed, 'slack-bot-token')).toThrow(
      `sealed with key ${before.currentKeyId}, which is neither TOKEN_ENCRYPTION_KEY nor in TOKEN_ENCRYPTION_OLD_KEYS`,
    );
  });
});

import { createHmac, randomBytes } from 'node:crypto';
import { hashSecret } from '../members/api-keys.ts';

/**
 * An invitation link's token is never stored: it is derived, when the email or DM is sent,
 * from the server secret and a random nonce kept in the invitation's row. The row keeps the
 * token's hash for the lookup; the job names only the invitation. Reading the database, a
 * backup or Redis therefore yields no usable link: that also takes the server secret, which
 * lives outside both (SERVER_SECRET, or a file under DATA_DIR). Re-sending draws a new nonce,
 * so the earlier link stops working.
 */
export class InvitationTokens {
  readonly #secret: string;
  constructor(secret: string) {
    if (secret.length < 32) throw new Error('the server secret must be at least 32 characters');
    this.#secret = secret;
  }

  /** A fresh nonce and the hash of the token it yields, for a new or re-sent invitation. */
  issue(): { nonce: string; hash: string } {
    const nonce = randomBytes(18).toString('base64url');
    return { nonce, hash: hashSecret(this.token(nonce)) };
  }

  /** The link's token for a nonce; the same every time, so a retried send mails the same link. */
  token(nonce: string): string {
    return createHmac('sha256', this.#secret).update(`invitation-token:${nonce}`).digest('base64url');
  }
}

/**
 * For code that builds services without a configured secret (tests, benchmarks): one secret
 * per process, so every service object in the process derives the same tokens.
 */
export const processLocalSecret = randomBytes(32).toString('base64url');

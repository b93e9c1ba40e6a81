import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type InstallURLOptions, InvalidStateError, type StateStore } from '@slack/oauth';
import type { Orm } from '../../platform/database.ts';
import { queryOne, run } from '../../platform/sql.ts';

/**
 * OAuth states for @slack/oauth's InstallProvider, kept server-side so each works once: the
 * redirect deletes the row it presents, and a second use (or a state never handed out) finds
 * nothing. The state is also signed with SLACK_STATE_SECRET, so a forged one is refused before
 * the database is asked. InstallProvider binds it to the browser with a cookie.
 */
export class DatabaseStateStore implements StateStore {
  readonly #orm: Orm;
  readonly #secret: string;
  readonly #lifetimeMs: number;

  constructor(orm: Orm, secret: string, lifetimeMs: number) {
    this.#orm = orm;
    this.#secret = secret;
    this.#lifetimeMs = lifetimeMs;
  }

  async generateStateParam(installOptions: InstallURLOptions, now: Date): Promise<string> {
    const nonce = randomBytes(24).toString('base64url');
    const em = this.#orm.em.fork();
    // Expired states go as new ones come: the table holds no more than an install window's worth.
    await run(em, 'delete from slack_oauth_states where expires_at < ?', [now]);
    await run(
      em,
      'insert into slack_oauth_states (state_hash, install_options, expires_at) values (?, ?, ?)',
      [hash(nonce), JSON.stringify(installOptions), new Date(now.getTime() + this.#lifetimeMs)],
    );
    return `${nonce}.${this.#sign(nonce)}`;
  }

  async verifyStateParam(now: Date, state: string): Promise<InstallURLOptions> {
    const [nonce, signature, extra] = state.split('.');
    if (!nonce || !signature || extra !== undefined || !this.#signatureMatches(nonce, signature)) {
      throw new InvalidStateError('The install link is not one teamops handed out.');
    }
    const row = await queryOne<{ install_options: InstallURLOptions; expires_at: Date }>(
      this.#orm.em.fork(),
      'delete from slack_oauth_states where state_hash = ? returning install_options, expires_at',
      [hash(nonce)],
    );
    if (!row) throw new InvalidStateError('The install link was already used.');
    if (new Date(row.expires_at) <= now) throw new InvalidStateError('The install link has expired.');
    return row.install_options;
  }

  #sign(nonce: string): string {
    return createHmac('sha256', this.#secret).update(nonce).digest('base64url');
  }

  #signatureMatches(nonce: string, signature: string): boolean {
    const expected = Buffer.from(this.#sign(nonce));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}

function hash(nonce: string): string {
  return createHash('sha256').update(nonce).digest('hex');
}

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  // The product's own logger, as every process makes it, writing here instead of stdout.
  return { logger: createLogger('trace', {}, stream), lines };
}

describe('logs', () => {
  it('show no email, API key, Slack token or invitation link at any level, in fields, messages or errors', () => {
    const { logger, lines } = capture();
    const secrets = [
      'ada@example.com',
      'tok_AbCdEf0123456789abcdef0123456789',
      'xoxb-1234-5678-secret',
      'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCd',
    ];
    const link = `https://teamops.example/invitations/${secrets[3]}`;
    logger.trace({ profile: { email: secrets[0], real_name: 'Ada' } }, 'users.info answered');
    logger.debug({ link, apiKey: secrets[1] }, `invited ${secrets[0]}`);
    logger.info({ user: { profile: { email: secrets[0] } }, token: secrets[3] }, 'profile');
    logger.warn({ detail: `with ${secrets[2]} and ${link}` }, 'nested text');
    logger.error({ err: new Error(`SMTP refused ${secrets[0]} for ${link}`) }, 'mail failed');
    logger.child({ component: 'x' }).info(`key ${secrets[1]}`);
    expect(lines).toHaveLength(6);
    for (const secret of secrets) expect(lines.filter((line) => line.includes(secret))).toEqual([]);
    expect(lines.join('\n')).toContain('[email]');
    expect(lines[0]).toContain('Ada');
  });
});

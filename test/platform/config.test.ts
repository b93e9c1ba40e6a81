import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';

describe('configuration', () => {
  it('runs with no settings at all: embedded database, PostgreSQL queues, no Slack', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      databaseUrl: undefined,
      redisUrl: undefined,
      slack: undefined,
      publicUrl: 'http://localhost:3000',
      queuePrefix: 'teamops',
    });
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', SLACK_BOT_TOKEN: '' }).databaseUrl).toBeUndefined();
    expect(loadConfig({ DATABASE_POOL_MAX: '' }).databasePoolMax).toBe(20);
  });

  it.each([
    [{ PORT: 'eighty' }, /^PORT /],
    [
      { DATABASE_URL: 'mysql://x' },
      /^DATABASE_URL must be a URL starting with postgres:\/\/ or postgresql:\/\//,
    ],
    [{ REDIS_URL: 'not a url' }, /^REDIS_URL must be a URL/],
    [{ DATABASE_POOL_MAX: '0' }, /^DATABASE_POOL_MAX must be a whole number of connections from 1 to 1000/],
    [{ DATABASE_POOL_MAX: 'many' }, /^DATABASE_POOL_MAX must be a whole number of connections/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL /],
    [{ QUEUE_PREFIX: 'a:b' }, /^QUEUE_PREFIX must contain only/],
  ])('names the malformed setting in one line: %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
    try {
      loadConfig(env);
    } catch (error) {
      expect((error as Error).message).not.toContain('\n');
    }
  });

  it('takes Slack settings as a group', () => {
    const config = loadConfig({ SLACK_SIGNING_SECRET: 's', SLACK_BOT_TOKEN: 'xoxb-1' });
    expect(config.slack).toEqual({
      signingSecret: 's',
      botToken: 'xoxb-1',
      appToken: undefined,
      apiUrl: 'https://slack.com/api/',
    });
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1' })).toThrow(
      'SLACK_SIGNING_SECRET must be set because SLACK_BOT_TOKEN is set (Slack settings go together)',
    );
    expect(() => loadConfig({ SLACK_APP_TOKEN: 'xapp-1' })).toThrow(
      'SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN must be set because SLACK_APP_TOKEN is set',
    );
    expect(() => loadConfig({ SLACK_SIGNING_SECRET: 's', SLACK_BOT_TOKEN: 'xoxp-user' })).toThrow(
      /^SLACK_BOT_TOKEN must be a bot token/,
    );
  });

  describe('multi-workspace Slack (OAuth)', () => {
    const key = Buffer.alloc(32, 1).toString('base64');
    const oauth = {
      SLACK_SIGNING_SECRET: 's',
      SLACK_CLIENT_ID: '123.456',
      SLACK_CLIENT_SECRET: 'client-secret',
      SLACK_STATE_SECRET: 'a-state-secret-of-some-length',
      TOKEN_ENCRYPTION_KEY: key,
    };

    it('takes the OAuth settings and the token key', () => {
      const config = loadConfig(oauth);
      expect(config.slack?.botToken).toBeUndefined();
      expect(config.slack?.oauth).toEqual({
        clientId: '123.456',
        clientSecret: 'client-secret',
        stateSecret: 'a-state-secret-of-some-length',
      });
      expect(config.tokenEncryption).toEqual({ current: key, old: [] });
    });

    it.each([
      [
        { ...oauth, SLACK_BOT_TOKEN: 'xoxb-1' },
        'SLACK_BOT_TOKEN must not be set with SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_STATE_SECRET: a bot token serves one workspace, OAuth installs serve many (choose one mode)',
      ],
      [
        { SLACK_SIGNING_SECRET: 's', SLACK_CLIENT_ID: '1.2' },
        'SLACK_CLIENT_SECRET and SLACK_STATE_SECRET must be set because SLACK_SIGNING_SECRET, SLACK_CLIENT_ID are set',
      ],
      [
        { ...oauth, TOKEN_ENCRYPTION_KEY: undefined },
        /^TOKEN_ENCRYPTION_KEY must be set because SLACK_CLIENT_ID is set/,
      ],
      [{ ...oauth, TOKEN_ENCRYPTION_KEY: 'c2hvcnQ=' }, /^TOKEN_ENCRYPTION_KEY must be 32 bytes in base64/],
      [
        { ...oauth, TOKEN_ENCRYPTION_OLD_KEYS: `${key},nope` },
        /^TOKEN_ENCRYPTION_OLD_KEYS must be 32 bytes in base64/,
      ],
      [{ ...oauth, SLACK_STATE_SECRET: 'short' }, 'SLACK_STATE_SECRET must be at least 16 characters'],
    ])('refuses in one line: %o', (env, message) => {
      expect(() => loadConfig(env)).toThrow(message);
    });
  });
});

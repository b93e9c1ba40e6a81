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
  });

  it.each([
    [{ PORT: 'eighty' }, /^PORT /],
    [
      { DATABASE_URL: 'mysql://x' },
      /^DATABASE_URL must be a URL starting with postgres:\/\/ or postgresql:\/\//,
    ],
    [{ REDIS_URL: 'not a url' }, /^REDIS_URL must be a URL/],
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
});

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import type { Orm } from '../../src/platform/database.ts';
import { PostponedError } from '../../src/platform/queue.ts';
import { createSlackPoster, type SlackPoster } from '../../src/slack/outbound/slack-poster.ts';
import { WorkspaceRateLimits } from '../../src/slack/workspace-rate-limits.ts';
import { createWorkspaceTokens } from '../../src/slack/workspace-tokens.ts';
import { connectTestOrm, createTestDatabase, databaseEnv, type TestDatabase } from '../helpers/database.ts';
import { type FakeSlack, startFakeSlack } from '../helpers/fake-slack.ts';
import { silentLogger } from '../helpers/workers.ts';

const TOKEN = 'xoxb-uploads';

let database: TestDatabase;
let orm: Orm;
let fake: FakeSlack;
let slack: SlackPoster;
let scratch: string;

beforeAll(async () => {
  fake = await startFakeSlack();
  database = await createTestDatabase();
  orm = await connectTestOrm(database.url, silentLogger);
  scratch = await mkdtemp(path.join(tmpdir(), 'teamops-upload-'));
  const config = loadConfig({
    ...databaseEnv(database.url),
    SLACK_SIGNING_SECRET: 'secret',
    SLACK_BOT_TOKEN: TOKEN,
    SLACK_API_URL: fake.apiUrl,
  });
  slack = createSlackPoster(
    config,
    createWorkspaceTokens(config, undefined, orm),
    new WorkspaceRateLimits(orm),
    silentLogger,
  );
});

afterAll(async () => {
  await orm?.close(true);
  await database?.drop();
  await fake?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('uploading a file to Slack', () => {
  it("sends the bytes to a user's direct message with a title and a comment, and returns the file id", async () => {
    const content = Buffer.from('member,amount\nÅsa Ödegård,"1,50"\n', 'utf8');
    const outcome = await slack.upload(1, {
      filename: 'statement.csv',
      title: 'Statement, November 2026',
      content,
      to: { user: 'U0READER' },
      initialComment: 'Your statement',
    });
    expect(outcome.uploaded).toBe(true);
    if (!outcome.uploaded) return;
    expect(outcome.channel).toBe('DU0READER');
    const file = fake.files.get(outcome.fileId)!;
    expect(file.content!.equals(content)).toBe(true);
    expect(file.contentLength).toBe(content.length);
    expect(file).toMatchObject({
      filename: 'statement.csv',
      title: 'Statement, November 2026',
      channel: 'DU0READER',
      initialComment: 'Your statement',
      completed: true,
      token: TOKEN,
    });
    expect(fake.filesIn('DU0READER').map((f) => f.id)).toContain(outcome.fileId);
  });

  it('streams a file from disk to a channel', async () => {
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) % 251;
    const file = path.join(scratch, 'big.bin');
    await writeFile(file, bytes);
    const outcome = await slack.upload(1, {
      filename: 'big.bin',
      title: 'Big',
      content: { path: file },
      to: { channel: 'C0REPORTS' },
    });
    if (!outcome.uploaded) throw new Error(outcome.reason);
    expect(fake.files.get(outcome.fileId)!.content!.equals(bytes)).toBe(true);
    expect(fake.filesIn('C0REPORTS')).toHaveLength(1);
  });

  it('keeps a file private to the app when it has no destination, as an App Home image needs', async () => {
    const outcome = await slack.upload(1, {
      filename: 'chart.png',
      title: 'Chart',
      altText: 'Messages per day',
      content: { stream: Readable.from([Buffer.from('png-bytes')]), length: 9 },
    });
    if (!outcome.uploaded) throw new Error(outcome.reason);
    expect(outcome.channel).toBeUndefined();
    const file = fake.files.get(outcome.fileId)!;
    expect(file.completed).toBe(true);
    expect(file.channel).toBeUndefined();
    expect(file.content!.toString()).toBe('png-bytes');
  });

  it("postpones on a 429 and holds back the workspace's other Slack calls until Retry-After", async () => {
    fake.throttle(TOKEN, Date.now() + 1_500, 2);
    const upload = () =>
      slack.upload(1, { filename: 'a.csv', title: 'A', content: Buffer.from('a'), to: { channel: 'C1' } });
    const first = await upload().catch((error: unknown) => error);
    expect(first).toBeInstanceOf(PostponedError);
    // Held: the next call waits for its slot without reaching Slack.
    const callsBefore = fake.callsTo('files.getUploadURLExternal').length;
    const second = await slack
      .post(1, { channel: 'C1', text: 'after the 429' })
      .catch((error: unknown) => error);
    expect(second).toBeInstanceOf(PostponedError);
    expect((second as PostponedError).untilMs).toBeGreaterThan(Date.now() + 1_000);
    expect(fake.callsTo('files.getUploadURLExternal')).toHaveLength(callsBefore);
    expect(fake.filesIn('C1')).toHaveLength(0);
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { WorkerThread } from '../../src/platform/worker-thread.ts';
import type { EchoInput } from './fixtures/echo-thread.ts';

const thread = new WorkerThread<EchoInput, { echo: unknown; threadId: number }>(
  new URL('./fixtures/echo-thread.ts', import.meta.url),
  'echo',
);
afterAll(() => thread.close());

describe('a worker thread', () => {
  it('takes plain data in and out, bigints included, on one thread reused from call to call', async () => {
    const input = { amount: 123_456_789_012_345_678_901n, days: [{ day: '2026-12-01', cost: -5n }] };
    const first = await thread.run({ echo: input });
    expect(first.echo).toEqual(input);
    const second = await thread.run({ echo: 'again' });
    expect(second.threadId).toBe(first.threadId);
  });

  it('rejects a call whose work throws with its message, and goes on serving on the same thread', async () => {
    const before = await thread.run({ echo: 1 });
    await expect(thread.run({ fail: 'no such team' })).rejects.toThrow(/^no such team$/);
    expect((await thread.run({ echo: 2 })).threadId).toBe(before.threadId);
  });

  it('rejects the calls in hand when the thread dies, and starts a new one on the next call', async () => {
    const before = await thread.run({ echo: 1 });
    await expect(thread.run({ die: 3 })).rejects.toThrow('the echo thread stopped: exit code 3');
    const after = await thread.run({ echo: 2 });
    expect(after).toMatchObject({ echo: 2 });
    expect(after.threadId).not.toBe(before.threadId);
  });

  it('refuses input that is not plain data, without stopping the thread', async () => {
    await expect(thread.run({ echo: () => 1 })).rejects.toThrow(/could not be cloned/);
    expect(await thread.run({ echo: 3 })).toMatchObject({ echo: 3 });
  });
});

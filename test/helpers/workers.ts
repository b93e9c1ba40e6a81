import { randomBytes } from 'node:crypto';
import { createLogger } from '../../src/logger.ts';
import { openQueues, type Queues } from '../../src/platform/queue.ts';
import { TEST_REDIS_URL } from './env.ts';

export const silentLogger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent');

/** A queue prefix no other test file uses, so files can share one Redis. */
export function uniquePrefix(label: string): string {
  return `t-${label}-${randomBytes(4).toString('hex')}`;
}

export function openTestQueues(
  backend: 'redis' | 'postgres',
  databaseUrl: string,
  queuePrefix: string,
  redisUrl = TEST_REDIS_URL,
): Queues {
  return openQueues(
    { redisUrl: backend === 'redis' ? redisUrl : undefined, queuePrefix },
    databaseUrl,
    silentLogger,
  );
}

/**
 * Polls until `check` returns a value other than undefined/false, or fails after `timeoutMs`.
 * The default is far beyond what anything takes on a quiet machine: it only bounds how long a
 * broken test hangs, and leaves room for a CI machine under load (where 50 ms can take seconds).
 */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  { timeoutMs = 20_000, intervalMs = 25, message = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${message} not reached within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

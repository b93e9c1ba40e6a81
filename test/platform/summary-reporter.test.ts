import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';

/**
 * The run's closing line counts what failed it — here a file whose afterAll hook times out and
 * an unhandled rejection, while every test passes — and agrees with the exit code.
 */
const fixtures = path.resolve(import.meta.dirname, '../fixtures/summary');
const vitest = path.resolve(import.meta.dirname, '../../node_modules/vitest/vitest.mjs');

function runFixtures(files: string[]) {
  const run = spawnSync(
    process.execPath,
    [vitest, 'run', '--config', path.join(fixtures, 'vitest.config.ts'), ...files],
    {
      cwd: fixtures,
      encoding: 'utf8',
      env: { ...process.env, CI: '1' },
    },
  );
  const lines = run.stdout.trim().split('\n');
  return { status: run.status, closing: lines.slice(-2) };
}

it('counts a file failed in a hook and an unhandled error, and says the run failed', {
  timeout: 60_000,
}, () => {
  const { status, closing } = runFixtures([]);
  expect(status).toBe(1);
  expect(closing).toEqual([
    'run FAILED: 1 file failed outside its tests, in a hook or while loading (hook-times-out.fixture.ts); 1 unhandled error',
    'tests: 3 passed, 2 failed',
  ]);
});

it('says the run passed when it did', { timeout: 60_000 }, () => {
  const { status, closing } = runFixtures(['passes.fixture.ts']);
  expect(status).toBe(0);
  expect(closing.at(-1)).toBe('tests: 1 passed, 0 failed');
  expect(closing.join('\n')).not.toContain('run FAILED');
});

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    reporters: ['default', './test/summary-reporter.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Each file gets its own database and queue prefix, so files run in parallel; the work is
    // mostly waiting on PostgreSQL and Redis, so more workers than the 2 cores pay off.
    pool: 'forks',
    maxWorkers: 4,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

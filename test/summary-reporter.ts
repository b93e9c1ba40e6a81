import type { Reporter, TestModule } from 'vitest/node';

/**
 * Prints one plain closing line, `tests: N passed, N failed`, after vitest's own summary, so
 * that tools which read a run's last lines (CI) need not know vitest's format. Unhandled errors
 * fail a run whose tests all passed, so they are counted on the same line.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failed += 1;
        else skipped += 1;
      }
    }
    const errors = unhandledErrors.length;
    console.log(
      `tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}${errors ? `, ${errors} unhandled error${errors === 1 ? '' : 's'}` : ''}`,
    );
  }
}

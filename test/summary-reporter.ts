import type { Reporter, TestModule, TestRunEndReason, TestSuite } from 'vitest/node';

/**
 * Prints one plain closing line after vitest's own summary, so that tools which read a run's
 * last lines (CI) need not know vitest's format:
 *
 *   tests: 710 passed, 0 failed; files: 1 failed outside its tests (test/slack/fuzz.test.ts); run FAILED
 *
 * Everything that fails a run is counted on it — failed tests, files that failed in a hook or
 * while loading, unhandled errors — and its verdict is vitest's own, so the line and the exit
 * code always agree.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<unknown>,
    reason: TestRunEndReason,
  ): void {
    console.log(summaryLine(testModules, unhandledErrors.length, reason));
  }
}

export function summaryLine(
  testModules: ReadonlyArray<TestModule>,
  unhandledErrors: number,
  reason: TestRunEndReason,
): string {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const failedOutsideTests: string[] = [];
  for (const module of testModules) {
    let failedTests = 0;
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === 'passed') passed += 1;
      else if (state === 'failed') failedTests += 1;
      else skipped += 1;
    }
    failed += failedTests;
    // A hook (beforeAll/afterAll) or the file's own code failed: vitest fails the file, and may
    // have no failed test to show for it.
    const hookErrors = [...module.children.allSuites()].some((suite: TestSuite) => suite.errors().length > 0);
    if (module.errors().length > 0 || hookErrors || (module.state() === 'failed' && failedTests === 0)) {
      failedOutsideTests.push(module.relativeModuleId);
    }
  }
  const parts = [`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`];
  if (failedOutsideTests.length > 0) {
    parts.push(
      `files: ${failedOutsideTests.length} failed outside its tests, in a hook or while loading (${failedOutsideTests.join(', ')})`,
    );
  }
  if (unhandledErrors > 0)
    parts.push(`${unhandledErrors} unhandled error${unhandledErrors === 1 ? '' : 's'}`);
  const counted = failed + failedOutsideTests.length + unhandledErrors;
  const verdict =
    reason === 'passed' && counted === 0
      ? 'run passed'
      : reason === 'interrupted'
        ? 'run INTERRUPTED'
        : 'run FAILED';
  return `${parts.join('; ')}; ${verdict}`;
}

import type { Reporter, TestModule, TestRunEndReason, TestSuite } from 'vitest/node';

/**
 * Prints plain closing lines after vitest's own summary, so that tools which read a run's last
 * line (CI) need not know vitest's format. The last line is always `tests: N passed, N failed`,
 * where "failed" counts everything that fails a run — failed tests, files that failed in a hook
 * or while loading, unhandled errors, an interrupted run — so the line and the exit code agree;
 * the line before it says what the failures outside tests were:
 *
 *   run FAILED: 1 file failed outside its tests, in a hook or while loading (test/slack/fuzz.test.ts)
 *   tests: 710 passed, 1 failed
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<unknown>,
    reason: TestRunEndReason,
  ): void {
    console.log(summaryLines(testModules, unhandledErrors.length, reason).join('\n'));
  }
}

export function summaryLines(
  testModules: ReadonlyArray<TestModule>,
  unhandledErrors: number,
  reason: TestRunEndReason,
): string[] {
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
  const outside: string[] = [];
  if (failedOutsideTests.length > 0) {
    outside.push(
      `${failedOutsideTests.length} file${failedOutsideTests.length === 1 ? '' : 's'} failed outside its tests, in a hook or while loading (${failedOutsideTests.join(', ')})`,
    );
  }
  if (unhandledErrors > 0)
    outside.push(`${unhandledErrors} unhandled error${unhandledErrors === 1 ? '' : 's'}`);
  const interrupted = reason === 'interrupted' ? 1 : 0;
  if (interrupted) outside.push('the run was interrupted');
  // vitest's own verdict may fail a run for a reason counted nowhere above; it counts once then.
  const counted = failed + failedOutsideTests.length + unhandledErrors + interrupted;
  const unexplained = reason === 'failed' && counted === 0 ? 1 : 0;
  if (unexplained) outside.push('vitest failed the run');
  const lines = outside.length > 0 ? [`run FAILED: ${outside.join('; ')}`] : [];
  lines.push(
    `tests: ${passed} passed, ${counted + unexplained} failed${skipped ? `, ${skipped} skipped` : ''}`,
  );
  return lines;
}

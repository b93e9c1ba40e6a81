const DAY_MS = 86_400_000;

/**
 * For tests that count "today" (statistics, a daily cap): the product takes the UTC day from the
 * clock, in PostgreSQL and in Node alike, so a test running across midnight UTC would see its
 * work split over two days. Called before the work, this waits out the last `marginMs` before
 * midnight (allow the test's whole run, under load), which is a wait of at most `marginMs` on
 * one run in thousands, and none otherwise.
 */
export async function clearOfUtcMidnight(marginMs: number): Promise<void> {
  const untilMidnight = DAY_MS - (Date.now() % DAY_MS);
  if (untilMidnight < marginMs) await new Promise((resolve) => setTimeout(resolve, untilMidnight + 250));
}

import { type Browser, chromium } from 'playwright-core';
import { inject } from 'vitest';

/**
 * Headless Chromium, with nothing of its own reaching the network. The run's global setup found
 * it, or installed it once for the whole run (test/helpers/chromium.ts); when it could not, every
 * page test fails with the one line that says what to install.
 */
export function launchChromium(): Promise<Browser> {
  const found = inject('chromium');
  if ('error' in found) throw new Error(found.error);
  return chromium.launch({
    executablePath: found.path,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

import { loadConfigOrExit } from './config.ts';
import { createLogger } from './logger.ts';

/**
 * `npm start` runs web and workers in one process; `npm run start:web` / `start:worker` run one
 * role each, for scaling them apart.
 */
const role = process.argv[2] ?? 'all';
if (!['all', 'web', 'worker'].includes(role)) {
  console.error(`teamops: unknown role "${role}"; use web, worker or nothing for both`);
  process.exit(2);
}

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel, { role });
// Ctrl-C under `npm start` arrives twice (the terminal's, and npm passing it on): once is enough.
// A signal that comes while the product is still starting is held until the start is done, so
// the database it may have started is stopped as well, never left behind.
let stopping = false;
let pendingSignal: string | undefined;
let shutdown: ((signal: string) => Promise<void>) | undefined;
const onSignal = (signal: string) => {
  if (stopping) return;
  stopping = true;
  if (shutdown) void shutdown(signal);
  else {
    pendingSignal = signal;
    logger.info({ signal }, 'stopping as soon as the start is done');
  }
};
process.on('SIGTERM', () => onSignal('SIGTERM'));
process.on('SIGINT', () => onSignal('SIGINT'));

try {
  // Loaded only once the configuration is known to be good, so a bad setting is reported at once.
  const { startRuntime } = await import('./runtime.ts');
  const runtime = await startRuntime(config, logger, { web: role !== 'worker', worker: role !== 'web' });
  shutdown = async (signal: string) => {
    const started = Date.now();
    logger.info({ signal }, 'stopping: finishing requests, Slack work and jobs under way');
    await runtime.stop();
    logger.info({ ms: Date.now() - started }, 'stopped');
    process.exit(0);
  };
  if (pendingSignal) await shutdown(pendingSignal);
} catch (error) {
  // One line that says what failed (and, for the embedded database, what to do): no stack trace.
  logger.fatal({ err: { message: (error as Error).message } }, 'could not start');
  console.error(`teamops: could not start: ${(error as Error).message}`);
  process.exit(1);
}

/**
 * One worker process of bench:scale: the outbox relay and a no-op worker on the digests queue,
 * as `start:worker` runs them, against the target the parent names. Reports how many jobs it
 * has finished every 50 ms, and stops on SIGTERM.
 */
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startOutboxRelay } from '../src/outbox/relay.ts';
import { openQueues } from '../src/platform/queue.ts';

// The same settings a worker process reads (blank means unset), so the target is chosen alike.
const config = loadConfig(process.env);
const databaseUrl = config.databaseUrl!;
const logger = createLogger('silent');
const queues = openQueues(config, databaseUrl, logger);
let done = 0;
const worker = queues.createWorker(
  'digests',
  async () => {
    done += 1;
  },
  { concurrency: 50 },
);
const relay = startOutboxRelay(databaseUrl, queues, logger);
await worker.ready();
await relay.listening();
process.send!({ ready: true });
const report = setInterval(() => process.send!({ done }), 50);
process.on('SIGTERM', async () => {
  clearInterval(report);
  await relay.stop();
  await queues.close();
  process.exit(0);
});

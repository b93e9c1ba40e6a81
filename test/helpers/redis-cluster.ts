import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestRedisCluster {
  nodes: Array<{ host: string; port: number }>;
  /** REDIS_CLUSTER_NODES for a process started against this cluster. */
  env: string;
  stop(): Promise<void>;
}

/**
 * A real Redis Cluster of three masters (no replicas) from the machine's `redis-server`, on
 * free ports, in a temporary folder: started, its slots assigned with `redis-cli --cluster
 * create`, and waited for until every node says the cluster is ok. `stop()` kills the nodes
 * and removes the folder.
 */
export async function startRedisCluster(): Promise<TestRedisCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await tryStart();
    } catch (error) {
      // Another process may take a port between our check and redis-server binding it.
      if (attempt >= 3) throw error;
    }
  }
}

async function tryStart(): Promise<TestRedisCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), 'teamops-redis-cluster-'));
  const ports = await freeClusterPorts(3);
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          '5000',
          '--save',
          '',
          '--appendonly',
          'no',
          '--maxmemory-policy',
          'noeviction',
        ],
        { cwd: dir, stdio: 'ignore' },
      );
      children.push(child);
    }
    for (const port of ports) await waitFor(async () => (await cli(port, 'ping')) === 'PONG');
    await run('redis-cli', [
      '--cluster',
      'create',
      ...ports.map((port) => `127.0.0.1:${port}`),
      '--cluster-replicas',
      '0',
      '--cluster-yes',
    ]);
    for (const port of ports) {
      await waitFor(async () => (await cli(port, 'cluster', 'info')).includes('cluster_state:ok'));
    }
    const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
    return { nodes, env: nodes.map((n) => `${n.host}:${n.port}`).join(','), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run('redis-cli', ['-p', String(port), ...args]);
  return stdout.trim();
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error('Redis Cluster did not come up');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Ports whose cluster bus port (port + 10000) is free too. */
async function freeClusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if (ports.includes(port)) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) ports.push(port);
  }
  return ports;
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openQueues } from '../../src/platform/queue.ts';
import { startWorkers } from '../../workers/index.ts';
import { seedTeam } from '../helpers/services.ts';
import { useWorkerHarness } from '../helpers/worker-harness.ts';
import { eventually, silentLogger, sleep } from '../helpers/workers.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const h = useWorkerHarness({ workers: false });
const children = new Set<ChildProcess>();
const outputs = new WeakMap<ChildProcess, string[]>();

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** `npm run start:worker` (`node src/main.ts worker`) with this file's environment; resolves once it says it is ready. */
async function startWorkerProcess(env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [path.join(root, 'src/main.ts'), 'worker'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...h.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let output = '';
  const lines: string[] = [];
  outputs.set(child, lines);
  child.stdout!.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"msg":"ready"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) => reject(new Error(`worker exited with ${code}:\n${output}`)));
  });
  return child;
}

/** Work of both kinds: invitation emails (slow to send) and members that will cross their recharge threshold. */
async function seedWork(label: string, emails: number, recharges: number) {
  const seeded = await seedTeam(h.services, { masterBalance: '100000' });
  const addresses = Array.from({ length: emails }, (_, i) => `${label}-${i}@example.com`);
  for (const email of addresses) await h.services.invitations.invite(seeded.admin.actor, { email });
  const memberIds: number[] = [];
  for (let i = 0; i < recharges; i++) {
    const { member } = await h.services.members.create(seeded.owner.actor, { name: `${label} member ${i}` });
    await h.services.ledger.credit(seeded.admin.actor, { member: { id: member.id }, amount: '10' });
    await h.services.autoRecharge.set(seeded.admin.actor, {
      member: { id: member.id },
      threshold: '5',
      amount: '20',
    });
    memberIds.push(member.id);
  }
  const crossAll = () =>
    Promise.all(
      memberIds.map((id) => h.services.ledger.debit(seeded.admin.actor, { member: { id }, amount: '6' })),
    );
  return { seeded, addresses, memberIds, crossAll };
}

async function expectEachDoneOnce(addresses: string[], memberIds: number[], maxResent = 0) {
  await eventually(() => addresses.every((address) => h.smtp.to(address).length > 0), {
    timeoutMs: 60_000,
    message: 'every invitation email delivered',
  });
  await eventually(
    async () => {
      const { rows } = await h.sql.query<{ n: string }>(
        `select count(*) as n from transfers where kind = 'auto_recharge' and to_member_id = any($1)`,
        [memberIds],
      );
      return Number(rows[0]!.n) >= memberIds.length;
    },
    // After a Redis restart the workers reconnect with a backoff, and a balance-low job that was
    // active when Redis went away is handed out again only once its lock expires (10 s) and the
    // stalled check runs; in a loaded full run that took longer than 30 s once. What this test
    // guards is that every recharge happens exactly once, not how fast.
    { timeoutMs: 75_000, message: 'every member recharged' },
  );
  await sleep(2_000);
  // One email per invitation as a receiving system sees it: a copy resent because a worker died
  // between the server's "250 OK" and recording it carries the same Message-ID.
  for (const address of addresses) {
    expect(new Set(h.smtp.to(address).map((email) => email.messageId)).size, address).toBe(1);
  }
  const copies = addresses.reduce((sum, address) => sum + h.smtp.to(address).length, 0);
  expect(copies - addresses.length).toBeLessThanOrEqual(maxResent);
  const { rows } = await h.sql.query<{ to_member_id: number; n: string }>(
    `select to_member_id, count(*) as n from transfers where kind = 'auto_recharge' and to_member_id = any($1)
      group by to_member_id`,
    [memberIds],
  );
  expect(rows.map((row) => Number(row.n))).toEqual(memberIds.map(() => 1));
  const { rows: undelivered } = await h.sql.query(
    `select id from invitations where email = any($1) and delivery_status <> 'sent'`,
    [addresses],
  );
  expect(undelivered).toEqual([]);
}

describe('a worker killed with SIGKILL mid-job', () => {
  it('loses nothing and does nothing twice: another worker finishes the work', async () => {
    h.smtp.setDelay(300);
    const work = await seedWork('killed', 16, 12);
    const doomed = await startWorkerProcess();
    await work.crossAll();
    // Emails take 300 ms each, four at a time: kill while some are on the wire.
    await eventually(() => work.addresses.filter((a) => h.smtp.to(a).length > 0).length >= 4, {
      message: 'some emails sent',
    });
    // At a moment unrelated to any one email: most of the four in flight are mid-transfer.
    await sleep(60 + Math.random() * 180);
    doomed.kill('SIGKILL');
    await new Promise((resolve) => doomed.once('exit', resolve));
    const sentBeforeKill = work.addresses.filter((a) => h.smtp.to(a).length > 0).length;
    expect(sentBeforeKill).toBeLessThan(work.addresses.length);

    const survivor = await startWorkerProcess();
    try {
      // The killed worker's jobs stay locked for up to 10 s before the survivor takes them over.
      // Of the (at most four) emails in flight, one whose "250 OK" had just arrived may go twice.
      await expectEachDoneOnce(work.addresses, work.memberIds, 4);
    } finally {
      survivor.kill('SIGTERM');
      h.smtp.setDelay(0);
    }
  }, 120_000);

  it('on SIGTERM finishes its active jobs and exits cleanly', async () => {
    h.smtp.setDelay(1_000);
    const work = await seedWork('stopped', 4, 0);
    const worker = await startWorkerProcess();
    try {
      await eventually(
        async () => {
          const counts = await openCounts();
          return (counts.active ?? 0) > 0;
        },
        { timeoutMs: 30_000, message: 'emails being sent' },
      );
      const stoppedAt = Date.now();
      worker.kill('SIGTERM');
      const code = await new Promise((resolve) => worker.once('exit', resolve));
      expect(code, outputs.get(worker)?.join('').slice(-3000)).toBe(0);
      // Well before the 25 s after which active jobs would be released instead of finished.
      expect(Date.now() - stoppedAt).toBeLessThan(20_000);
      // What was active when the signal came was finished, not dropped: its emails went out and are recorded.
      const sent = work.addresses.filter((a) => h.smtp.to(a).length > 0);
      expect(sent.length).toBeGreaterThan(0);
      const { rows } = await h.sql.query<{ email: string }>(
        `select email from invitations where email = any($1) and delivery_status = 'sent'`,
        [work.addresses],
      );
      expect(rows.map((row) => row.email).sort()).toEqual([...sent].sort());
    } finally {
      h.smtp.setDelay(0);
    }
    // The rest is still there for the next worker.
    const next = await startWorkerProcess();
    try {
      await expectEachDoneOnce(work.addresses, []);
    } finally {
      next.kill('SIGTERM');
    }
  }, 150_000);
});

async function openCounts() {
  const queues = openQueues(h.config, h.db.url, silentLogger);
  try {
    return await queues.counts('mail');
  } finally {
    await queues.close();
  }
}

describe('Redis restarted mid-run', () => {
  it('loses nothing and does nothing twice', async () => {
    const port = await freePort();
    const dir = await mkdtemp(path.join(tmpdir(), 'teamops-redis-'));
    let redis = startRedis(port, dir);
    const redisUrl = `redis://127.0.0.1:${port}`;
    await waitForRedis(port);
    const config = loadConfig({ ...h.env, REDIS_URL: redisUrl });
    const queues = openQueues(config, h.db.url, silentLogger);
    const workers = startWorkers(
      { config, logger: silentLogger, orm: h.orm, services: h.services, queues },
      { databaseUrl: h.db.url, relay: { pollIntervalMs: 200 } },
    );
    try {
      await workers.ready();
      h.smtp.setDelay(100);
      const before = await seedWork('redis-a', 10, 8);
      await before.crossAll();
      await eventually(() => before.addresses.some((a) => h.smtp.to(a).length > 0));

      await stopRedis(redis);
      // Work caused while Redis is away waits in the outbox.
      const during = await seedWork('redis-b', 6, 6);
      await during.crossAll();
      await sleep(1_500);
      redis = startRedis(port, dir);
      await waitForRedis(port);

      await expectEachDoneOnce(
        [...before.addresses, ...during.addresses],
        [...before.memberIds, ...during.memberIds],
      );
    } finally {
      h.smtp.setDelay(0);
      await workers.stop();
      await queues.close();
      await stopRedis(redis);
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

/** A private Redis that keeps every acknowledged write on disk (as production should), so a restart loses no jobs. */
function startRedis(port: number, dir: string): ChildProcess {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'always',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: 'ignore' },
  );
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function waitForRedis(port: number): Promise<void> {
  await eventually(
    () =>
      new Promise<boolean>((resolve) => {
        const probe = spawn('redis-cli', ['-p', String(port), 'ping'], {
          stdio: ['ignore', 'pipe', 'ignore'],
        });
        let out = '';
        probe.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
        });
        probe.on('exit', () => resolve(out.trim() === 'PONG'));
      }),
    { timeoutMs: 10_000, intervalMs: 100, message: 'Redis up' },
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redis-cluster.ts';
import { seedTeam } from '../helpers/services.ts';
import { SlackRequests } from '../helpers/slack-requests.ts';
import { useWorkerHarness } from '../helpers/worker-harness.ts';
import { eventually, sleep } from '../helpers/workers.ts';

/**
 * Scale-out: two `start:web` and two `start:worker` processes against one PostgreSQL and a real
 * 3-master Redis Cluster. Commands and API calls go to both web processes; one worker is
 * SIGKILLed mid-run and one web process restarted. Invitations, auto-recharges, low-balance
 * alerts and a digest each happen exactly once, and every process stops cleanly on SIGTERM.
 */
const root = path.resolve(import.meta.dirname, '../..');
const SIGNING_SECRET = 'test-signing-secret';
const h = useWorkerHarness({ workers: false });
let cluster: TestRedisCluster;
const processes = new Set<Proc>();

interface Proc {
  role: 'web' | 'worker';
  child: ChildProcess;
  port: number;
  output: () => string;
}

beforeAll(async () => {
  cluster = await startRedisCluster();
});

afterAll(async () => {
  for (const proc of processes) proc.child.kill('SIGKILL');
  await cluster?.stop();
});

async function start(role: 'web' | 'worker'): Promise<Proc> {
  const child = spawn(process.execPath, [path.join(root, 'src/main.ts'), role], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      ...h.env,
      REDIS_URL: '',
      REDIS_CLUSTER_NODES: cluster.env,
      PORT: '0',
      SMS_SANDBOX_DELAY_MS: '0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const proc: Proc = { role, child, port: 0, output: () => output };
  processes.add(proc);
  child.once('exit', () => processes.delete(proc));
  await eventually(
    () => {
      if (child.exitCode !== null) throw new Error(`${role} exited early:\n${output}`);
      return output.includes('"msg":"ready"');
    },
    { timeoutMs: 60_000, message: `${role} ready` },
  );
  proc.port = Number(/"port":(\d+)[^\n]*"msg":"(web|worker health and metrics) listening"/.exec(output)![1]);
  return proc;
}

/** SIGTERM, and how the process ended. */
async function stop(proc: Proc): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  const exited = new Promise<number | null>((resolve) => proc.child.once('exit', (code) => resolve(code)));
  proc.child.kill('SIGTERM');
  const code = await exited;
  return { code, ms: Date.now() - started };
}

function slackTo(web: Proc, teamId: string) {
  return new SlackRequests({
    endpoint: `http://127.0.0.1:${web.port}/slack/events`,
    signingSecret: SIGNING_SECRET,
    teamId,
    fakeSlack: h.slack,
  });
}

async function api(web: Proc, key: string, method: string, url: string, body?: object) {
  const res = await fetch(`http://127.0.0.1:${web.port}/api/v1${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const json = (await res.json().catch(() => null)) as { id?: number } | null;
  expect(res.status, `${method} ${url}: ${JSON.stringify(json)}`).toBeLessThan(300);
  return json;
}

/** How many request log lines of this route template a process wrote. */
function served(proc: Proc, route: string): number {
  return proc
    .output()
    .split('\n')
    .filter((line) => line.includes('"msg":"request completed"') && line.includes(`"route":"${route}"`))
    .length;
}

describe('two web and two worker processes on a Redis Cluster', () => {
  it('spread the work, survive a killed worker and a restarted web, and do everything exactly once', async () => {
    const [webA, webB, doomed, survivor] = await Promise.all([
      start('web'),
      start('web'),
      start('worker'),
      start('worker'),
    ]);
    const seeded = await seedTeam(h.services, { masterBalance: '100000' });
    const owner = seeded.owner;
    const teamId = seeded.team.slackTeamId!;
    await h.services.teams.setAlerts(owner.actor, { channel: 'CSCALEALERTS', level: '1' });

    // A daily digest due at the next whole minute at least 30 s away: it fires mid-run.
    const due = new Date(Math.ceil((Date.now() + 30_000) / 60_000) * 60_000);
    const time = `${String(due.getUTCHours()).padStart(2, '0')}:${String(due.getUTCMinutes()).padStart(2, '0')}`;
    await h.services.digests.configure(owner.actor, {
      channel: 'CSCALEDIGEST',
      frequency: 'daily',
      time,
      timezone: 'UTC',
    });

    // Members through both web processes: six with auto-recharge, three that will run low.
    let webs = [webA, webB];
    const via = (i: number) => webs[i % 2]!;
    const recharged: number[] = [];
    const lowOnes: number[] = [];
    for (let i = 0; i < 9; i++) {
      const member = (await api(via(i), owner.apiKey, 'POST', '/members', { name: `Scale member ${i}` }))!;
      const id = member.id!;
      await api(via(i + 1), owner.apiKey, 'POST', `/members/${id}/credit`, { amount: i < 6 ? '10' : '3' });
      if (i < 6) {
        await api(via(i), owner.apiKey, 'PUT', `/members/${id}/auto-recharge`, {
          threshold: '5',
          amount: '20',
        });
        recharged.push(id);
      } else {
        lowOnes.push(id);
      }
    }

    // Invitations by Slack command, alternating between the web processes; each email takes a while.
    h.smtp.setDelay(300);
    const addresses = Array.from({ length: 12 }, (_, i) => `scale-${i}@example.com`);
    for (const [i, address] of addresses.slice(0, 8).entries()) {
      const ack = await slackTo(via(i), teamId).command(owner.slackUserId!, `invite ${address}`);
      expect(ack.status).toBe(200);
    }
    await eventually(() => addresses.filter((a) => h.smtp.to(a).length > 0).length >= 2, {
      timeoutMs: 30_000,
      message: 'some emails sent',
    });

    // Mid-run: one worker dies without warning, one web process is restarted.
    doomed.child.kill('SIGKILL');
    const restarting = stop(webA);
    // Meanwhile the other web process takes everything.
    webs = [webB, webB];
    for (const id of recharged)
      await api(webB, owner.apiKey, 'POST', `/members/${id}/debit`, { amount: '6' });
    const webStopped = await restarting;
    expect(webStopped.code, webA.output().slice(-2000)).toBe(0);
    const webA2 = await start('web');
    webs = [webA2, webB];
    // A key rotated through one web process is refused by the other on the very next request:
    // each keeps the keys it has seen in memory, and checks the database's count of key changes
    // before trusting it.
    const holder = (await api(webA2, owner.apiKey, 'POST', '/members', { name: 'Key holder' })) as {
      id: number;
      api_key: string;
    };
    await api(webB, holder.api_key, 'GET', '/team');
    await api(webB, holder.api_key, 'GET', '/team');
    const rotated = (await api(webA2, owner.apiKey, 'POST', `/members/${holder.id}/key`)) as {
      api_key: string;
    };
    const withOldKey = await fetch(`http://127.0.0.1:${webB.port}/api/v1/team`, {
      headers: { authorization: `Bearer ${holder.api_key}` },
    });
    expect(withOldKey.status, 'the old key refused by the other web process').toBe(401);
    await api(webB, rotated.api_key, 'GET', '/team');
    for (const [i, id] of lowOnes.entries())
      await api(via(i), owner.apiKey, 'POST', `/members/${id}/debit`, { amount: '2.5' });
    for (const [i, address] of addresses.slice(8).entries()) {
      const ack = await slackTo(via(i), teamId).command(owner.slackUserId!, `invite ${address}`);
      expect(ack.status).toBe(200);
    }

    // Everything arrives, the killed worker's jobs after their locks expire (10 s).
    await eventually(() => addresses.every((a) => h.smtp.to(a).length > 0), {
      timeoutMs: 90_000,
      message: 'every invitation email delivered',
    });
    const alertPosts = () =>
      h.slack
        .callsTo('chat.postMessage')
        .filter(
          (call) => call.args.channel === 'CSCALEALERTS' && String(call.args.text).startsWith('Low balance'),
        );
    await eventually(() => alertPosts().length >= lowOnes.length, { timeoutMs: 30_000, message: 'alerts' });
    const digestPosts = () =>
      h.slack.callsTo('chat.postMessage').filter((call) => call.args.channel === 'CSCALEDIGEST');
    await eventually(() => digestPosts().length >= 1, { timeoutMs: 120_000, message: 'the digest' });
    await sleep(3_000);

    // Exactly once. An email resent because its worker died between the server's "250 OK" and
    // recording it carries the same Message-ID: one email, as the receiving system sees it.
    for (const address of addresses) {
      expect(new Set(h.smtp.to(address).map((email) => email.messageId)).size, address).toBe(1);
    }
    const { rows: recharges } = await h.sql.query<{ to_member_id: number; n: string }>(
      `select to_member_id, count(*) as n from transfers where kind = 'auto_recharge' and to_member_id = any($1)
        group by to_member_id order by to_member_id`,
      [recharged],
    );
    expect(recharges.map((row) => [row.to_member_id, Number(row.n)])).toEqual(recharged.map((id) => [id, 1]));
    const { rows: undelivered } = await h.sql.query(
      `select id from invitations where email = any($1) and delivery_status <> 'sent'`,
      [addresses],
    );
    expect(undelivered).toEqual([]);
    expect(alertPosts()).toHaveLength(lowOnes.length);
    for (let i = 6; i < 9; i++) {
      expect(
        alertPosts().filter((call) => String(call.args.text).includes(`Scale member ${i} `)),
      ).toHaveLength(1);
    }
    expect(digestPosts()).toHaveLength(1);
    expect(String(digestPosts()[0]!.args.text)).toContain('Daily digest');

    // Both web processes served commands and API calls.
    for (const web of [webA, webB]) {
      expect(served(web, '/slack/events'), 'Slack commands served').toBeGreaterThan(0);
      expect(served(web, '/api/v1/members/:member/credit'), 'API calls served').toBeGreaterThan(0);
    }
    // The surviving worker answers probes and scrapes on its own port, and ran jobs.
    const metrics = await (await fetch(`http://127.0.0.1:${survivor.port}/metrics`)).text();
    expect(metrics).toMatch(/teamops_jobs_total\{queue="mail",outcome="completed"\} [1-9]/);
    expect((await fetch(`http://127.0.0.1:${survivor.port}/readyz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${survivor.port}/api/v1/team`)).status).toBe(404);

    // Every process left stops cleanly on SIGTERM.
    h.smtp.setDelay(0);
    const stopped = await Promise.all([webA2, webB, survivor].map(stop));
    for (const [i, proc] of [webA2, webB, survivor].entries()) {
      expect(stopped[i]!.code, proc.output().slice(-2000)).toBe(0);
      expect(proc.output()).toContain('"msg":"stopped"');
    }
  }, 300_000);
});

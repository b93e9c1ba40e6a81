import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { openQueues, type Queues } from '../../src/platform/queue.ts';
import { startRedisCluster, type TestRedisCluster } from '../helpers/redis-cluster.ts';
import { eventually, silentLogger, uniquePrefix } from '../helpers/workers.ts';

let cluster: TestRedisCluster;
let queues: Queues;
beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(async () => {
  await queues?.close();
  await cluster?.stop();
});

describe('queues on a Redis Cluster', () => {
  it('adds, deduplicates, schedules and runs jobs through a 3-master cluster', async () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: cluster.env, QUEUE_PREFIX: uniquePrefix('cluster') });
    expect(config.redisClusterNodes).toHaveLength(3);
    queues = openQueues(config, 'postgres://unused', silentLogger);
    await eventually(() => queues.ping().then(() => true), { message: 'cluster reachable' });
    const seen: unknown[] = [];
    const worker = queues.createWorker('mail', async (job) => {
      seen.push(job.data);
    });
    await worker.ready();
    await queues.add('mail', 'a', { n: 1 }, { jobId: 'one' });
    await queues.add('mail', 'a', { n: 1 }, { jobId: 'one' });
    await queues.addBulk('mail', [
      { name: 'b', data: { n: 2 } },
      { name: 'b', data: { n: 3 } },
    ]);
    await eventually(() => seen.length === 3, { message: 'three jobs run' });
    expect(seen).toEqual(expect.arrayContaining([{ n: 1 }, { n: 2 }, { n: 3 }]));
    const schedule = await queues.upsertSchedule(
      'digests',
      'team-1',
      { cron: '0 9 * * 1', timezone: 'Europe/Athens' },
      { name: 'digest', data: { teamId: 1 } },
    );
    expect(schedule.nextRunAt).toBeInstanceOf(Date);
    expect((await queues.counts('mail')).completed).toBe(3);
  });

  it('refuses REDIS_URL together with REDIS_CLUSTER_NODES, in one line', () => {
    expect(() =>
      loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CLUSTER_NODES: cluster.env }),
    ).toThrow(
      /^REDIS_URL and REDIS_CLUSTER_NODES are both set; set REDIS_URL for one Redis or REDIS_CLUSTER_NODES/,
    );
    expect(() => loadConfig({ REDIS_CLUSTER_NODES: 'redis-1' })).toThrow(
      'REDIS_CLUSTER_NODES must be a comma-separated list of host:port',
    );
  });
});

import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.ts';

/**
 * Where the Redis queue backend lives: one Redis (REDIS_URL) or a Redis Cluster
 * (REDIS_CLUSTER_NODES). The configuration refuses both at once, so neither silently wins.
 */
export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: Array<{ host: string; port: number }> };

export type RedisConnection = Redis | Cluster;

export function redisTarget(
  config: Pick<Config, 'redisUrl'> & Partial<Pick<Config, 'redisClusterNodes'>>,
): RedisTarget | undefined {
  if (config.redisClusterNodes) return { kind: 'cluster', nodes: config.redisClusterNodes };
  if (config.redisUrl) return { kind: 'single', url: config.redisUrl };
  return undefined;
}

/** A readable name for logs and /readyz: the URL without its password, or the seed nodes. */
export function describeRedisTarget(target: RedisTarget): string {
  if (target.kind === 'cluster') return `cluster ${target.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  const url = new URL(target.url);
  url.password = '';
  return url.toString();
}

/**
 * A new connection to the target with these options. For a cluster, the per-node options go to
 * every node, and the ones that concern the whole client (offline queue, reconnects) to the
 * cluster client, which is where ioredis reads them.
 */
export function connectRedis(target: RedisTarget, options: RedisOptions = {}): RedisConnection {
  if (target.kind === 'single') return new Redis(target.url, options);
  const { enableOfflineQueue, retryStrategy, lazyConnect, ...nodeOptions } = options;
  return new Cluster(target.nodes, {
    redisOptions: nodeOptions,
    enableOfflineQueue: enableOfflineQueue ?? true,
    lazyConnect: lazyConnect ?? false,
    clusterRetryStrategy: retryStrategy ? (times) => retryStrategy(times) ?? null : undefined,
    // Nodes answer MOVED while slots migrate during a resharding; follow them for a while.
    maxRedirections: 32,
  });
}

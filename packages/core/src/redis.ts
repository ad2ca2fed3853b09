import type { Socket } from 'node:net';
import IORedis, { Cluster, type ChainableCommander, type RedisOptions } from 'ioredis';
import type { Logger } from './logger';
import { LuaScript } from './lua-script';
import type { RedisTarget } from './redis-target';

/**
 * The one place a connection to Redis is made, for every kind of Redis the configuration names
 * (a URL string is one node): BullMQ's, Bottleneck's, subscribers and tsp's own all come from here.
 * - Sentinel: ioredis asks the Sentinels for the master, and again on every reconnect, so after a
 *   failover each connection (and its duplicates: BullMQ's blocking ones, Bottleneck's subscriber)
 *   follows the new master by itself.
 * - Cluster: an ioredis Cluster, typed as IORedis. It has the same command surface, and tsp uses
 *   only commands, pipelines, MULTI, scripts and pub/sub on it, all keys in one slot (the KEY_PREFIX
 *   hash tag); the Cluster tests (test/faults/redis-cluster.fault.ts) carry the whole relay on one.
 */
export function connectRedis(target: RedisTarget | string, options: RedisOptions = {}): IORedis {
  const where: RedisTarget = typeof target === 'string' ? { mode: 'single', url: target } : target;
  switch (where.mode) {
    case 'single':
      return new IORedis(where.url, options);
    case 'sentinel':
      return new IORedis({
        ...options,
        sentinels: where.sentinels,
        name: where.masterName,
        ...(where.username ? { username: where.username } : {}),
        ...(where.password ? { password: where.password } : {}),
      });
    case 'cluster': {
      const { enableOfflineQueue, enableAutoPipelining, lazyConnect, ...redisOptions } = options;
      const cluster = new Cluster(where.nodes, {
        redisOptions,
        // Writes go to masters; reading a replica could see a decision or a lane a moment late.
        scaleReads: 'master',
        ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
        ...(enableAutoPipelining !== undefined ? { enableAutoPipelining } : {}),
        ...(lazyConnect !== undefined ? { lazyConnect } : {}),
      });
      return cluster as unknown as IORedis;
    }
  }
}

/**
 * A connection for BullMQ workers and blocking commands: BullMQ requires
 * maxRetriesPerRequest null so a blocking call is never abandoned mid-way.
 */
export function createWorkerRedis(target: RedisTarget | string, options: RedisOptions = {}): IORedis {
  return withScripts(connectRedis(target, { maxRetriesPerRequest: null, ...options }));
}

/** tsp's Lua scripts, defined before the connection sends anything (see LuaScript.defineAll). */
function withScripts(redis: IORedis): IORedis {
  LuaScript.defineAll(redis);
  return redis;
}

/**
 * The Redis connections of a service that runs a BullMQ worker:
 * - `redis` for its own commands: never blocking, so the writes of concurrent jobs share a round trip;
 * - `queueConnection` for BullMQ's Queue: BullMQ defines its ~60 scripts on the connection it is
 *   given, and ioredis copies all of them into every pipeline built on that connection, so our
 *   own pipelines stay cheap only on a connection BullMQ does not touch;
 * - `workerConnection` for the Worker, which blocks on a copy of it.
 */
export function createWorkerConnections(target: RedisTarget | string): { redis: IORedis; queueConnection: IORedis; workerConnection: IORedis } {
  return {
    redis: withCoalescedWrites(createWorkerRedis(target, { enableAutoPipelining: true })),
    queueConnection: withCoalescedWrites(createWorkerRedis(target)),
    workerConnection: withCoalescedWrites(createWorkerRedis(target)),
  };
}

/**
 * A connection for request paths: fails fast while Redis is down instead of queueing the
 * command, so an HTTP caller gets a 503 at once rather than a hung request.
 */
export function createFailFastRedis(target: RedisTarget | string, options: RedisOptions = {}): IORedis {
  return withScripts(connectRedis(target, { maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2000, ...options }));
}

/**
 * Group commit for one connection: a write waits for the end of the event loop's poll phase (until
 * the check phase), so the commands that concurrent requests or jobs send in one loop turn leave in
 * one write that Redis reads and answers at once, instead of a syscall and a Redis wake-up each. A
 * lone command waits only for the rest of its loop turn. Holds across reconnections (each has a new
 * socket).
 */
export function withCoalescedWrites(connection: IORedis): IORedis {
  const hook = () => {
    const stream = (connection as unknown as { stream?: Socket }).stream;
    if (!stream || coalescing.has(stream)) return;
    coalescing.add(stream);
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((...args: unknown[]) => {
      if (stream.writableCorked === 0 && !stream.destroyed) {
        stream.cork();
        setImmediate(() => stream.uncork());
      }
      return write(...args);
    });
  };
  connection.on('connect', hook);
  hook();
  return connection;
}
const coalescing = new WeakSet<Socket>();

/** BullMQ loses jobs if Redis evicts keys under memory pressure; say so loudly at start. */
export async function warnUnlessNoEviction(redis: IORedis, logger: Logger): Promise<void> {
  try {
    const reply = await redis.config('GET', 'maxmemory-policy');
    const policy = reply?.[1];
    if (policy && policy !== 'noeviction') {
      logger.warn(`Redis maxmemory-policy is "${policy}"; it must be "noeviction" or queued signals can be lost`);
    }
  } catch {
    // Managed Redis often forbids CONFIG; nothing to check then.
  }
}

export async function pingRedis(redis: IORedis): Promise<void> {
  await redis.ping();
}

/**
 * Resolves true once the connection is ready, false after timeoutMs: a service starts without
 * Redis (and /ready says so) rather than failing to start.
 */
export function waitForRedis(redis: IORedis, timeoutMs = 3000): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => { redis.off('ready', onReady); resolve(false); }, timeoutMs);
    const onReady = () => { clearTimeout(timer); resolve(true); };
    redis.once('ready', onReady);
  });
}

/**
 * Runs a pipeline (or MULTI) and throws its first failed command's error: exec() alone resolves
 * with them, and with null for an aborted transaction.
 */
/** A MULTI whose WATCHed keys changed before EXEC: nothing of it was written. */
export class TransactionAbortedError extends Error {
  constructor() {
    super('Redis transaction was aborted: a watched key changed');
    this.name = 'TransactionAbortedError';
  }
}

export async function execPipeline(pipeline: ChainableCommander): Promise<unknown[]> {
  const replies = await pipeline.exec();
  if (!replies) throw new TransactionAbortedError();
  const firstError = replies.find(([error]) => error)?.[0];
  if (firstError) throw firstError;
  return replies.map(([, reply]) => reply);
}

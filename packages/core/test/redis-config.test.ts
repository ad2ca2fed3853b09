/** REDIS_URL (one node or a Sentinel group), REDIS_CLUSTER_NODES, KEY_PREFIX's hash tag, REDIS_WAIT_REPLICAS. */
import { ConfigError, connectRedis, deploymentOf, loadConfig, redisKeys } from '../src';

function problemOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error(`${JSON.stringify(env)} was accepted`);
}

describe('the Redis the relay uses', () => {
  it('is one node at redis://127.0.0.1:6379 by default, its keys under KEY_PREFIX as written', () => {
    const config = loadConfig({});
    expect(config.redis).toEqual({ mode: 'single', url: 'redis://127.0.0.1:6379' });
    expect(config.keyPrefix).toBe('tsp');
    expect(redisKeys(config.keyPrefix).topn).toBe('tsp:topn');
    expect(config.redisWaitReplicas).toBe(0);
  });

  it('reads a Sentinel group from REDIS_URL: its Sentinels, the master name and the master\'s credentials', () => {
    const config = loadConfig({ REDIS_URL: 'redis+sentinel://app:p%40ss@sentinel-0.redis:26379,10.0.0.7:26380,[::1]:26381/mymaster' });
    expect(config.redis).toEqual({
      mode: 'sentinel',
      sentinels: [{ host: 'sentinel-0.redis', port: 26379 }, { host: '10.0.0.7', port: 26380 }, { host: '::1', port: 26381 }],
      masterName: 'mymaster',
      username: 'app',
      password: 'p@ss',
    });
    expect(config.keyPrefix).toBe('tsp');
  });

  it('reads a Redis Cluster from REDIS_CLUSTER_NODES, which wins over REDIS_URL, and puts every key under a hash tag', () => {
    const config = loadConfig({ REDIS_URL: 'redis://elsewhere:6379', REDIS_CLUSTER_NODES: ' redis-0:6379, redis-1:6379 ,10.1.2.3:7000' });
    expect(config.redis).toEqual({ mode: 'cluster', nodes: [{ host: 'redis-0', port: 6379 }, { host: 'redis-1', port: 6379 }, { host: '10.1.2.3', port: 7000 }] });
    expect(config.keyPrefix).toBe('{tsp}');
    expect(redisKeys(config.keyPrefix).lane('AAPL')).toBe('{tsp}:lane:AAPL');
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'r:6379', KEY_PREFIX: 'desk-2' }).keyPrefix).toBe('{desk-2}');
    expect(loadConfig({ REDIS_CLUSTER_NODES: 'r:6379', KEY_PREFIX: '{desk-2}' }).keyPrefix).toBe('{desk-2}');
  });

  it('names a deployment in Postgres without the hash tag, so moving to a Cluster keeps its rows', () => {
    expect(deploymentOf(loadConfig({ REDIS_CLUSTER_NODES: 'r:6379' }).keyPrefix)).toBe('tsp');
    expect(deploymentOf(loadConfig({ KEY_PREFIX: '{tsp}' }).keyPrefix)).toBe('tsp');
    expect(deploymentOf('tsp')).toBe('tsp');
  });

  it('takes REDIS_WAIT_REPLICAS for one node or Sentinel, not for a Cluster', () => {
    expect(loadConfig({ REDIS_URL: 'redis+sentinel://s:26379/m', REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '250' })).toMatchObject({ redisWaitReplicas: 1, redisWaitTimeoutMs: 250 });
    expect(problemOf({ REDIS_CLUSTER_NODES: 'r:6379', REDIS_WAIT_REPLICAS: '1' })).toMatch(/^REDIS_WAIT_REPLICAS cannot be used with REDIS_CLUSTER_NODES/);
    expect(problemOf({ REDIS_WAIT_REPLICAS: 'one' })).toMatch(/^REDIS_WAIT_REPLICAS must be a whole number/);
    expect(problemOf({ REDIS_WAIT_REPLICAS: '17' })).toMatch(/^REDIS_WAIT_REPLICAS must be between 0 and 16/);
    expect(problemOf({ REDIS_WAIT_TIMEOUT_MS: '0' })).toMatch(/^REDIS_WAIT_TIMEOUT_MS must be between/);
  });
});

describe('bad Redis settings stop the start with a line naming the variable', () => {
  it.each([
    ['an unknown scheme', 'http://redis:6379', /must use redis:, rediss: or redis\+sentinel:/],
    ['no URL at all', 'localhost:6379', /is not a valid URL|must use/],
    ['a port out of range', 'redis://redis:70000', /is not a valid URL/],
    ['a newline', 'redis://redis:6379\n/0', /space or control character/],
    ['a NUL', 'redis://re\u0000dis:6379', /space or control character/],
    ['a Sentinel URL without a master name', 'redis+sentinel://s1:26379,s2:26379/', /master name/],
    ['a Sentinel URL without the master part', 'redis+sentinel://s1:26379', /must be redis\+sentinel:\/\//],
    ['a Sentinel URL without Sentinels', 'redis+sentinel:///mymaster', /must be redis\+sentinel:\/\//],
    ['a Sentinel without a port', 'redis+sentinel://s1/mymaster', /bad Sentinel: "s1" is not host:port/],
    ['a Sentinel on port 0', 'redis+sentinel://s1:0/mymaster', /bad Sentinel: "s1:0"/],
    ['an empty Sentinel entry', 'redis+sentinel://s1:26379,,s2:26379/mymaster', /bad Sentinel: "" is not host:port/],
    ['a Sentinel with a path', 'redis+sentinel://s1:26379/mymaster/extra', /must be redis\+sentinel:\/\//],
    ['a master name with a space', 'redis+sentinel://s1:26379/my%20master', /master name/],
    ['a master name too long', `redis+sentinel://s1:26379/${'m'.repeat(65)}`, /master name/],
    ['a bidi override in the master name', 'redis+sentinel://s1:26379/my\u202emaster', /space or control character/],
    ['a look-alike host (Cyrillic е)', 'redis+sentinel://r\u0435dis:26379/mymaster', /bad Sentinel/],
    ['credentials that are not percent-encoding', 'redis+sentinel://:%zz@s1:26379/mymaster', /percent-encoding/],
  ])('REDIS_URL with %s', (_what, value, problem) => {
    const message = problemOf({ REDIS_URL: value });
    expect(message).toMatch(/^REDIS_URL /);
    expect(message).toMatch(problem);
  });

  it.each([
    ['a URL instead of host:port', 'redis://r:6379', /not host:port/],
    ['no port', 'redis-0', /"redis-0" is not host:port/],
    ['a port that is not a number', 'redis-0:abc', /not host:port/],
    ['a path', 'redis-0:6379/0', /not host:port/],
    ['an empty entry', 'r0:6379,,r1:6379', /"" is not host:port/],
    ['a space inside', 'redis 0:6379', /space or control character/],
    ['a carriage return', 'r0:6379\r,r1:6379', /space or control character/],
    ['a zero-width space', 'r0:6379,\u200br1:6379', /space or control character/],
    ['more than 64 nodes', Array.from({ length: 65 }, (_, i) => `r${i}:6379`).join(','), /more than 64/],
  ])('REDIS_CLUSTER_NODES with %s', (_what, value, problem) => {
    const message = problemOf({ REDIS_CLUSTER_NODES: value });
    expect(message).toMatch(/^REDIS_CLUSTER_NODES /);
    expect(message).toMatch(problem);
  });

  it.each(['{tsp', 'tsp}', '{}', '{ts}p', 'a{b}', '{t:s}', '{{tsp}}'])('KEY_PREFIX %s (a hash tag is the whole prefix in braces)', (value) => {
    expect(problemOf({ KEY_PREFIX: value })).toMatch(/^KEY_PREFIX may hold only/);
  });

  it('never prints the master\'s password of a bad Sentinel URL', () => {
    const message = problemOf({ REDIS_URL: 'redis+sentinel://app:hunter2-sentinel@s1:notaport/mymaster' });
    expect(message).toMatch(/^REDIS_URL /);
    expect(message).not.toContain('hunter2-sentinel');
  });
});

describe('connections for each kind of Redis', () => {
  it('asks the Sentinels for the master by name', () => {
    const redis = connectRedis(loadConfig({ REDIS_URL: 'redis+sentinel://:pw@s1:26379,s2:26379/mymaster' }).redis, { lazyConnect: true });
    expect(redis.options).toMatchObject({ sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }], name: 'mymaster', password: 'pw' });
    redis.disconnect();
  });

  it('makes a Cluster client for REDIS_CLUSTER_NODES, with the per-node options inside', () => {
    const redis = connectRedis(loadConfig({ REDIS_CLUSTER_NODES: 'r0:7000,r1:7001' }).redis, { lazyConnect: true, maxRetriesPerRequest: null, enableOfflineQueue: false });
    const cluster = redis as unknown as { isCluster: boolean; options: { redisOptions: Record<string, unknown>; enableOfflineQueue: boolean; scaleReads: string } };
    expect(cluster.isCluster).toBe(true);
    expect(cluster.options).toMatchObject({ enableOfflineQueue: false, scaleReads: 'master', redisOptions: { maxRetriesPerRequest: null } });
    redis.disconnect();
  });
});

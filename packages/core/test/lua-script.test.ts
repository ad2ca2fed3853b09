import IORedis from 'ioredis';
import { LuaScript } from '../src/lua-script';
import { uniquePrefix } from '../../../test/support/helpers';

describe('a Lua script run by its SHA', () => {
  // A Redis of its own would be kinder, but SCRIPT FLUSH is what a restart without persistence does to every script.
  const redis = new IORedis(process.env.REDIS_URL!);
  const key = `${uniquePrefix('lua')}:n`;
  const incr = new LuaScript('tspTestIncr', "return redis.call('INCRBY', KEYS[1], ARGV[1])");
  afterAll(async () => {
    await redis.del(key);
    redis.disconnect();
  });

  it('runs, and keeps running after Redis lost its scripts', async () => {
    expect(await incr.run(redis, [key], [2])).toBe(2);
    await redis.script('FLUSH');
    expect(await incr.run(redis, [key], [3])).toBe(5);
  });

  it('runs in a MULTI on a connection made after Redis restarted (its script cache empty)', async () => {
    const fresh = new IORedis(process.env.REDIS_URL!);
    try {
      await redis.script('FLUSH');
      incr.on(fresh);
      const replies = await incr.queue(fresh.multi(), [key], [4]).get(key).exec();
      expect(replies).toEqual([[null, 9], [null, '9']]);
      // On a live connection that saw the scripts flushed, a MULTI fails with NOSCRIPT: its user reloads
      // them (see lane-enqueue.ts). Ingest adds signals by a direct script call, which ioredis reloads itself.
      await redis.script('FLUSH');
      const failed = await incr.queue(fresh.multi(), [key], [1]).exec();
      expect(String(failed?.[0][0])).toMatch(/NOSCRIPT/);
    } finally {
      fresh.disconnect();
    }
  });
});

import { randomUUID } from 'node:crypto';
import type IORedis from 'ioredis';

/**
 * Records the start of each request in a sorted set and admits one only while fewer than `cap`
 * starts lie in the last window, all in one script on Redis's own clock. The limiter's even
 * spacing is what keeps starts smooth; this log is what makes the cap exact even when a busy
 * replica starts a request later than its slot (a GC pause, an fsync stall): it is checked at
 * the moment of the start itself.
 */
const ADMIT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return {0, now}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {tonumber(oldest[2]) + window - now + 1, now}`;

/** One millisecond more than a minute, so no two starts exactly 60 s apart share a closed window. */
export const START_WINDOW_MS = 60_001;

export class StartLog {
  constructor(private readonly redis: IORedis, private readonly key: string, private readonly windowMs = START_WINDOW_MS) {}

  /** Resolves, with the start's time on Redis's clock, once it is admitted (and recorded) under `cap` per window. */
  async admit(cap: number): Promise<number> {
    for (;;) {
      const [waitMs, now] = (await this.redis.eval(ADMIT, 1, this.key, cap, this.windowMs, randomUUID())) as [number, number];
      if (waitMs <= 0) return now;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}

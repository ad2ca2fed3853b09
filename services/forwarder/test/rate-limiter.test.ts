import IORedis from 'ioredis';
import { createLogger, redisKeys } from '@tsp/core';
import { DestinationRateLimiter } from '../src/rate-limiter';
import { uniquePrefix, waitFor } from '../../../test/support/helpers';
import { densestWindow } from '../../../test/support/rate-window';

/**
 * Bottleneck grants slots in Redis `spacing` apart; each start then waits on a local timer that a
 * busy machine fires late, which can shorten the observed span by as much as one start was late.
 * Half the granted span still tells spacing from none (without a limiter the span is ~0); the
 * exact cap is the start log's job, tested on Redis's own clock in start-log.test.ts.
 */
const spanAtLeast = (starts: number[], spacing: number) => expect(starts[starts.length - 1] - starts[0]).toBeGreaterThanOrEqual(((starts.length - 1) * spacing) / 2);

describe('the global destination rate limit', () => {
  const redis = new IORedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const logger = createLogger('forwarder', 'error');
  const limiters: DestinationRateLimiter[] = [];

  afterAll(async () => {
    for (const limiter of limiters) await limiter.stop();
    redis.disconnect();
  });

  async function replicas(prefix: string, count: number, maxPerMinute: number, hour: { maxPerHour: number; hourWindowMs?: number } = { maxPerHour: 1_000_000 }) {
    const made = [];
    for (let i = 0; i < count; i++) {
      const limiter = new DestinationRateLimiter({ redisTarget: process.env.REDIS_URL!, redis, prefix, maxPerMinute, ...hour, enabled: true, logger });
      await limiter.start();
      limiters.push(limiter);
      made.push(limiter);
    }
    return made;
  }

  async function startTimes(limiters: DestinationRateLimiter[], perLimiter: number): Promise<number[]> {
    const starts: number[] = [];
    await Promise.all(limiters.flatMap((limiter) =>
      Array.from({ length: perLimiter }, () => limiter.schedule(false, async () => { starts.push(Date.now()); }))));
    return starts.sort((a, b) => a - b);
  }

  
  it('spaces request starts 60 s / cap apart, summed over replicas', async () => {
    const starts = await startTimes(await replicas(uniquePrefix('limit'), 3, 1200), 4); // ≈ 50 ms spacing
    expect(starts).toHaveLength(12);
    spanAtLeast(starts, 50);
  });

  it('keeps limiting after Redis loses the limiter keys (patched Bottleneck)', async () => {
    const prefix = uniquePrefix('limit-lost');
    const [limiter] = await replicas(prefix, 1, 1200);
    await startTimes([limiter], 2);
    const keys = await redis.keys(`b_${redisKeys(prefix).limiterId}*`);
    expect(keys.length).toBeGreaterThan(0);
    await redis.del(...keys);
    const starts = await startTimes([limiter], 3);
    expect(starts).toHaveLength(3);
    spanAtLeast(starts, 50);
  });

  it('applies a cap changed at runtime on one replica to every replica, and to replicas started later', async () => {
    const prefix = uniquePrefix('limit-cap');
    const [a, b] = await replicas(prefix, 2, 6000); // 10 ms spacing
    await a.setMaxPerMinute(600); // 100 ms spacing
    const starts = await startTimes([b], 4);
    spanAtLeast(starts, 100);
    const [late] = await replicas(prefix, 1, 6000);
    expect(late.state()).toMatchObject({ max_per_minute: 600, spacing_ms: 101 }); // (60 s + 0.5 s) / 600
    await redis.del(redisKeys(prefix).rateCap);
  });

  it('holds the second window together with the first, across replicas: never more than its cap in any sliding window', async () => {
    // The hour's logic with a 3 s "hour": the window length is the limiter's parameter.
    const prefix = uniquePrefix('limit-hour');
    const hourWindowMs = 3000;
    const limiters = await replicas(prefix, 2, 6000, { maxPerHour: 4, hourWindowMs }); // 10 ms spacing, 4 per 3 s
    const starts = await startTimes(limiters, 5);
    expect(starts).toHaveLength(10);
    expect(densestWindow(starts, hourWindowMs - 50).count).toBeLessThanOrEqual(4);
    // And it does let them through as the window slides: ten starts take at least two windows.
    expect(starts[starts.length - 1] - starts[0]).toBeGreaterThanOrEqual(2 * (hourWindowMs - 100));
    expect(limiters[0].state()).toMatchObject({ max_per_hour: 4 });
  });

  it('switches limiting off and on at runtime for every replica within 2 s, and for replicas started later', async () => {
    const prefix = uniquePrefix('limit-switch');
    const [a, b] = await replicas(prefix, 2, 600); // 100 ms spacing
    await a.setEnabled(false);
    await waitFor(() => !b.state().enabled, 2500, 'the other replica to switch off');
    const free = await startTimes([b], 5);
    expect(free[free.length - 1] - free[0]).toBeLessThan(100);
    const late = new DestinationRateLimiter({ redisTarget: process.env.REDIS_URL!, redis, prefix, maxPerMinute: 600, maxPerHour: 1_000_000, enabled: true, logger });
    limiters.push(late);
    await late.start();
    expect(late.state()).toMatchObject({ enabled: false, switched_at_runtime: true });
    await b.setEnabled(true);
    await waitFor(() => a.state().enabled, 2500, 'the first replica to switch back on');
    spanAtLeast(await startTimes([a], 4), 100);
    await redis.del(redisKeys(prefix).rateLimiting);
  });

  it('lets everything through at once when rate limiting is disabled', async () => {
    const limiter = new DestinationRateLimiter({ redisTarget: process.env.REDIS_URL!, redis, prefix: 'unused', maxPerMinute: 1, maxPerHour: 1, enabled: false, logger });
    limiters.push(limiter);
    const starts = await startTimes([limiter], 5);
    expect(starts).toHaveLength(5);
    expect(limiter.state()).toMatchObject({ enabled: false });
  });
});

import IORedis from 'ioredis';
import {
  readScreenerRefreshResult, recordScreenerRefresh, redisKeys, requestScreenerRefresh, SCREENER_REFRESH_REQUEST_TTL_MS, SCREENER_REFRESH_RESULT_TTL_MS,
  screenerRefreshPending, takeScreenerRefresh,
} from '../src';
import { deletePrefixKeys, uniquePrefix } from '../../../test/support/helpers';

describe('a refresh asked of the screener through Redis', () => {
  const redis = new IORedis(process.env.REDIS_URL!);
  const prefixes: string[] = [];
  const prefix = (label: string) => {
    const p = uniquePrefix(label);
    prefixes.push(p);
    return p;
  };
  afterAll(async () => {
    for (const p of prefixes) await deletePrefixKeys(p);
    redis.disconnect();
  });

  it('waits at most its TTL for a screener to take it, and is announced', async () => {
    const p = prefix('refreq');
    const subscriber = new IORedis(process.env.REDIS_URL!);
    const heard: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => heard.push(message));
    await subscriber.subscribe(redisKeys(p).screenerRefreshRequested);
    try {
      const request = await requestScreenerRefresh(redis, p, 'ADMIN_TOKEN', 'why not');
      const ttl = await redis.pttl(redisKeys(p).screenerRefresh);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(SCREENER_REFRESH_REQUEST_TTL_MS);
      expect(Date.parse(request.expires_at) - Date.parse(request.requested_at)).toBe(SCREENER_REFRESH_REQUEST_TTL_MS);
      expect(await screenerRefreshPending(redis, p)).toBe(true);
      for (let i = 0; i < 100 && heard.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(heard).toEqual([request.id]);
    } finally {
      subscriber.disconnect();
    }
  });

  it('answers a request already waiting instead of replacing it: one pass, and the first asker keeps its id', async () => {
    const p = prefix('refdup');
    const first = await requestScreenerRefresh(redis, p, 'ADMIN_TOKEN', 'first');
    const second = await requestScreenerRefresh(redis, p, 'admin_session', 'second');
    expect(first.already_pending).toBe(false);
    expect(second).toMatchObject({ id: first.id, by: 'ADMIN_TOKEN', reason: 'first', already_pending: true });
    expect(Date.parse(second.expires_at)).toBeLessThanOrEqual(Date.parse(first.expires_at) + 50);
    expect(await takeScreenerRefresh(redis, p)).toMatchObject({ id: first.id });
    // Taken: the next one is a new request.
    const third = await requestScreenerRefresh(redis, p, 'ADMIN_TOKEN', null);
    expect(third).toMatchObject({ already_pending: false });
    expect(third.id).not.toBe(first.id);
  });

  it('is taken once, by one replica, whoever asks at the same time', async () => {
    const p = prefix('reftake');
    const request = await requestScreenerRefresh(redis, p, 'admin_session', null);
    const taken = await Promise.all([takeScreenerRefresh(redis, p), takeScreenerRefresh(redis, p), takeScreenerRefresh(redis, p)]);
    expect(taken.filter(Boolean)).toEqual([{ id: request.id, requested_at: request.requested_at, by: 'admin_session', reason: null }]);
    expect(await screenerRefreshPending(redis, p)).toBe(false);
  });

  it('counts an unreadable request as a request (someone asked), and keeps the outcome an hour at most', async () => {
    const p = prefix('refbad');
    await redis.set(redisKeys(p).screenerRefresh, '{not json', 'PX', 1000);
    expect(await takeScreenerRefresh(redis, p)).toMatchObject({ by: 'unknown' });
    const result = {
      id: 'r1', requested_at: new Date().toISOString(), by: 'ADMIN_TOKEN', reason: null, done_at: new Date().toISOString(),
      outcome: 'ok', published: true, changed: false, snapshot_id: 's1', error: null,
    };
    await recordScreenerRefresh(redis, p, result);
    expect(await readScreenerRefreshResult(redis, p)).toEqual(result);
    expect(await redis.pttl(redisKeys(p).screenerRefreshLast)).toBeLessThanOrEqual(SCREENER_REFRESH_RESULT_TTL_MS);
    await redis.set(redisKeys(p).screenerRefreshLast, 'garbage');
    expect(await readScreenerRefreshResult(redis, p)).toBeNull();
  });
});

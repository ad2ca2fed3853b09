import { createHash } from 'node:crypto';
import request from 'supertest';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { createLogger, loadConfig, QUEUE, redisKeys } from '@tsp/core';
import { startIngest } from '../src/service';
import { LAST_PRICE_TTL_SEC } from '../src/received-tally';
import { uniquePrefix, waitFor } from '../../../test/support/helpers';

describe('idempotency keys and what ingest keeps in Redis', () => {
  const prefix = uniquePrefix('idem');
  const keys = redisKeys(prefix);
  const config = loadConfig({ ...process.env, KEY_PREFIX: prefix, INGEST_PORT: '0', WEBHOOK_AUTH: 'none' });
  let ingest: Awaited<ReturnType<typeof startIngest>>;
  let url: string;
  const redis = new IORedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE.signals, { connection: redis, prefix });
  const send = (body: Record<string, unknown>, key?: string) => {
    const req = request(url).post('/webhook/in');
    return (key ? req.set('Idempotency-Key', key) : req).send(body);
  };
  const keyOf = (key: string) => keys.idempotency(createHash('sha256').update(key).digest('hex'));

  beforeAll(async () => {
    ingest = await startIngest(config, createLogger('ingest', 'error'));
    url = `http://127.0.0.1:${ingest.port}`;
  });
  afterAll(async () => {
    await ingest.stop();
    await queue.obliterate({ force: true });
    await queue.close();
    redis.disconnect();
  });

  it('accepts the retry of a signal whose key was claimed but whose job was never added (a failure in between)', async () => {
    // What a crash (or a Redis failure) between claiming the key and adding the job leaves behind.
    const orphanId = '5b7c0d52-8d2c-4c55-9a43-3f1a5e2b0a11';
    await redis.set(keyOf('tv-alert-1'), `claimed:${orphanId}`, 'EX', 3600);
    const retry = await send({ ticker: 'AAPL', side: 'buy' }, 'tv-alert-1');
    expect(retry.status).toBe(202);
    expect(retry.body).toEqual({ id: orphanId, status: 'queued' });
    expect((await queue.getJob(orphanId))?.data).toMatchObject({ id: orphanId, ticker: 'AAPL', idempotencyKey: 'tv-alert-1' });
    // Now it exists: a repeat is a duplicate.
    expect(await send({ ticker: 'AAPL', side: 'buy' }, 'tv-alert-1')).toMatchObject({ status: 200, body: { id: orphanId, status: 'duplicate' } });
  });

  it('tells apart two long keys that differ only at their end (keys are hashed whole)', async () => {
    const stem = 'k'.repeat(300);
    const first = await send({ ticker: 'MSFT', side: 'buy' }, `${stem}-1`);
    const second = await send({ ticker: 'MSFT', side: 'buy' }, `${stem}-2`);
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(first.body.id).not.toBe(second.body.id);
  });

  it('refuses a key longer than 1,024 characters, naming it, and enqueues nothing', async () => {
    const before = await queue.count();
    const res = await send({ ticker: 'MSFT', side: 'buy', id: 'x'.repeat(1025) });
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([expect.objectContaining({ field: 'id' })]);
    expect(await queue.count()).toBe(before);
  });

  it('adds one job for two concurrent sends of one key, answering both with its id', async () => {
    const [a, b] = await Promise.all([send({ ticker: 'NVDA', side: 'buy' }, 'race-key'), send({ ticker: 'NVDA', side: 'buy' }, 'race-key')]);
    expect(a.body.id).toBe(b.body.id);
    expect([a.status, b.status].sort()).toEqual(expect.arrayContaining([202]));
    expect(await queue.getJob(a.body.id)).toBeDefined();
  });

  it('keeps accepting after Redis\'s scripts are flushed under its live connection', async () => {
    await send({ ticker: 'FLSH', side: 'buy' }, 'flush-1');
    await redis.script('FLUSH');
    const res = await send({ ticker: 'FLSH', side: 'buy' }, 'flush-2');
    expect(res.status).toBe(202);
    expect(await queue.getJob(res.body.id)).toBeDefined();
    expect(await redis.zrange(keys.lane('FLSH'), '0', '-1')).toContain(res.body.id);
  });

  it('registers each accepted signal in its ticker\'s lane, in acceptance order, with its job', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await send({ ticker: 'LANE', side: i % 2 ? 'sell' : 'buy' })).body.id);
    // ioredis 6 types zrange's stop as a string (ticker-lane.ts passes '0', '-1' too).
    expect(await redis.zrange(keys.lane('LANE'), '0', '-1')).toEqual(ids);
  });

  it('remembers a ticker\'s last price only for a while, so tickers nobody trades do not fill Redis', async () => {
    await send({ ticker: 'PRCE', side: 'buy', price: 12.5 });
    const ttl = await waitFor(async () => {
      const seconds = await redis.ttl(keys.lastPrice('PRCE'));
      return seconds > 0 ? seconds : null;
    }, 5000, 'the last price');
    expect(ttl).toBeLessThanOrEqual(LAST_PRICE_TTL_SEC);
    expect(await redis.get(keys.lastPrice('PRCE'))).toBe('12.5');
  });

  it('answers 503 with Retry-After while the audit trail is behind AUDIT_OUTBOX_MAX, and is not ready', async () => {
    const small = uniquePrefix('idem-outbox');
    const busy = await startIngest(loadConfig({ ...process.env, KEY_PREFIX: small, INGEST_PORT: '0', WEBHOOK_AUTH: 'none', AUDIT_OUTBOX_MAX: '3' }), createLogger('ingest', 'error'));
    const busyUrl = `http://127.0.0.1:${busy.port}`;
    try {
      await redis.rpush(redisKeys(small).auditOutbox, 'a', 'b', 'c');
      const refused = await waitFor(async () => {
        const res = await request(busyUrl).post('/webhook/in').send({ ticker: 'AAPL', side: 'buy' });
        return res.status === 503 ? res : null;
      }, 5000, 'the back-pressure');
      expect(refused.headers['retry-after']).toBeDefined();
      expect(refused.body.message).toMatch(/AUDIT_OUTBOX_MAX/);
      const ready = await request(busyUrl).get('/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.failing.config).toMatch(/AUDIT_OUTBOX_MAX/);
      expect((await request(busyUrl).get('/metrics')).text).toMatch(/^tsp_audit_outbox_records\{service="ingest"\} 3$/m);
    } finally {
      await busy.stop();
      await redis.del(redisKeys(small).auditOutbox);
    }
  });
});

import IORedis from 'ioredis';
import { Queue } from 'bullmq';
import { LaneEnqueueScript } from '../src/lane-enqueue-script';
import { QUEUE, redisKeys } from '../src/names';
import { signalJobOptions } from '../src/jobs';
import { deletePrefixKeys, uniquePrefix } from '../../../test/support/helpers';

describe('adding a job in its lane with one script call', () => {
  const prefix = uniquePrefix('lane-add');
  const keys = redisKeys(prefix);
  const redis = new IORedis(process.env.REDIS_URL!);
  // As ingest has it: the script runs on a connection BullMQ never touched.
  const connection = new IORedis(process.env.REDIS_URL!);
  const queue = new Queue(QUEUE.signals, { connection: redis, prefix });
  const enqueue = new LaneEnqueueScript(prefix, connection);
  const add = (id: string, ticker: string, mark?: { key: string; value: string }) =>
    enqueue.add({ queue, name: 'signal', id, ticker, data: { id, ticker }, opts: signalJobOptions(id) }, mark);

  afterAll(async () => {
    await queue.close();
    await deletePrefixKeys(prefix);
    redis.disconnect();
    connection.disconnect();
  });

  it('adds a job BullMQ reads as its own, registered at the end of its lane in acceptance order', async () => {
    await add('s1', 'AAPL');
    await add('s2', 'AAPL');
    await add('s3', 'MSFT');
    expect(await redis.zrange(keys.lane('AAPL'), '0', '-1', 'WITHSCORES')).toEqual(['s1', '1', 's2', '2']);
    expect(await redis.zrange(keys.lane('MSFT'), '0', '-1', 'WITHSCORES')).toEqual(['s3', '3']);
    const job = await queue.getJob('s2');
    expect(job?.data).toEqual({ id: 's2', ticker: 'AAPL' });
    expect(job?.opts.attempts).toBe(signalJobOptions('s2').attempts);
    expect(await queue.getJobState('s2')).toBe('waiting');
  });

  it('adds a job it already holds no second time, and takes no new place in the lane', async () => {
    await add('d1', 'TSLA');
    await redis.zrem(keys.lane('TSLA'), 'd1'); // ended, its job still kept
    await add('d1', 'TSLA');
    expect(await redis.zcard(keys.lane('TSLA'))).toBe(0);
    expect(await queue.getWaitingCount()).toBe(4);
  });

  it('marks a key in the same call, keeping its TTL, once the job exists', async () => {
    const markKey = `${prefix}:mark`;
    await redis.set(markKey, 'claimed:m1', 'EX', 600);
    await add('m1', 'NVDA', { key: markKey, value: 'added:m1' });
    expect(await redis.get(markKey)).toBe('added:m1');
    expect(await redis.ttl(markKey)).toBeGreaterThan(500);
  });

  it('keeps working after Redis lost its scripts', async () => {
    await add('f1', 'AMD');
    await redis.script('FLUSH');
    await add('f2', 'AMD');
    expect(await redis.zrange(keys.lane('AMD'), '0', '-1')).toEqual(['f1', 'f2']);
    expect(await queue.getJob('f2')).toBeTruthy();
  });
});

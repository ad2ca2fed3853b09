import IORedis from 'ioredis';
import { createLogger, readTopnSet, redisKeys } from '@tsp/core';
import { createPrisma } from '@tsp/db';
import { uniquePrefix } from '../../../test/support/helpers';
import { NotLeaderError, TopnPublisher } from '../src/publish-topn';

describe('publishing under the leader lock', () => {
  const prefix = uniquePrefix('fence');
  const redis = new IORedis(process.env.REDIS_URL!);
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const lock = redisKeys(prefix).screenerLeader;

  afterAll(async () => {
    await redis.del(...(await redis.keys(`${prefix}:*`)));
    await prisma.topnSnapshot.deleteMany({ where: { deployment: prefix } });
    await prisma.$disconnect();
    redis.disconnect();
  });

  it('writes nothing once another replica holds the lock, and publishes while this one does', async () => {
    const publisher = new TopnPublisher({
      redis, prisma, prefix, logger: createLogger('screener', 'error'), fence: () => ({ key: lock, owner: 'me' }),
    });
    await redis.set(lock, 'another-replica');
    await expect(publisher.publish(['AAPL', 'MSFT'], 2, 'finviz.com', new Date())).rejects.toBeInstanceOf(NotLeaderError);
    expect(await readTopnSet(redis, prefix)).toBeNull();

    await redis.set(lock, 'me');
    await publisher.reload();
    const { set } = await publisher.publish(['AAPL', 'MSFT'], 2, 'finviz.com', new Date(), { duplicatesDropped: 1 });
    expect(await readTopnSet(redis, prefix)).toEqual(set);
    expect(set).toMatchObject({ tickers: ['AAPL', 'MSFT'], duplicates_dropped: 1 });
  });
});

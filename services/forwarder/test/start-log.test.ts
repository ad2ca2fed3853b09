import IORedis from 'ioredis';
import { StartLog } from '../src/start-log';
import { uniquePrefix } from '../../../test/support/helpers';

describe('the log of request starts', () => {
  const redis = new IORedis(process.env.REDIS_URL!);
  afterAll(() => redis.disconnect());

  it('admits at most cap starts in any window, across replicas, and admits more as the window slides', async () => {
    const key = `${uniquePrefix('starts')}:destination:starts`;
    const replicas = [new StartLog(redis, key, 1000), new StartLog(redis, key, 1000)];
    // Admission times on Redis's clock, the one that decides.
    const times = (await Promise.all(Array.from({ length: 8 }, (_, i) => replicas[i % 2].admit(3)))).sort((a, b) => a - b);
    expect(times).toHaveLength(8);
    for (let i = 0; i + 3 < times.length; i++) expect(times[i + 3] - times[i]).toBeGreaterThanOrEqual(1000);
    await redis.del(key);
  });
});

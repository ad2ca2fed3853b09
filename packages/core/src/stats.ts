import type IORedis from 'ioredis';
import { redisKeys, STAT, type StatName } from './names';

/**
 * System-wide counters kept in one Redis hash, so /status on any ingest replica reports the
 * whole relay, whichever replica of whichever service did the work.
 */
export class SystemStats {
  private readonly keys;

  constructor(private readonly redis: IORedis, prefix: string) {
    this.keys = redisKeys(prefix);
  }

  async increment(stat: StatName, by = 1): Promise<void> {
    const pipeline = this.redis.pipeline().hincrby(this.keys.stats, stat, by);
    if (stat === STAT.received) {
      const key = this.keys.statsMinute(Math.floor(Date.now() / 60_000));
      pipeline.incrby(key, by).expire(key, 3600);
    }
    await pipeline.exec();
  }

  async read(): Promise<Record<StatName, number> & { signals_per_minute: number }> {
    const minute = Math.floor(Date.now() / 60_000);
    const [hash, lastMinute] = await Promise.all([
      this.redis.hgetall(this.keys.stats),
      this.redis.get(this.keys.statsMinute(minute - 1)),
    ]);
    const counts = Object.fromEntries(Object.values(STAT).map((name) => [name, Number(hash[name] ?? 0)])) as Record<StatName, number>;
    return { ...counts, signals_per_minute: Number(lastMinute ?? 0) };
  }
}

import type IORedis from 'ioredis';
import { execPipeline, redisKeys, STAT, type Logger, type SystemStats } from '@tsp/core';

const FLUSH_MS = 250;
/** A manual exit carries the last price seen if it is this fresh; older ones are forgotten (bounded memory). */
export const LAST_PRICE_TTL_SEC = 24 * 3600;

/**
 * Counts accepted signals and remembers each ticker's last price in memory, written to Redis a
 * few times a second in one round trip: per-request writes cost ingest a sixth of its CPU. What
 * is lost in a crash is at most a quarter second of counts and prices, never a signal. Each price
 * is a key of its own with a TTL: tickers are whatever senders send, so nothing may grow forever.
 */
export class ReceivedTally {
  private received = 0;
  private readonly prices = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly redis: IORedis, private readonly stats: SystemStats, private readonly prefix: string, private readonly logger: Logger) {}

  add(ticker: string, price: number | undefined): void {
    this.received++;
    if (price !== undefined && Number.isFinite(price) && price > 0) this.prices.set(ticker, price);
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  async flush(): Promise<void> {
    const received = this.received;
    const prices = [...this.prices];
    this.received = 0;
    this.prices.clear();
    try {
      if (received) await this.stats.increment(STAT.received, received);
      if (prices.length) {
        const keys = redisKeys(this.prefix);
        const pipeline = this.redis.pipeline();
        for (const [ticker, price] of prices) pipeline.set(keys.lastPrice(ticker), String(price), 'EX', LAST_PRICE_TTL_SEC);
        await execPipeline(pipeline);
      }
    } catch (error) {
      // Counts are not signals: keep them for the next flush rather than lose or block anything.
      this.received += received;
      this.logger.debug('received counts not written yet', { error: (error as Error).message });
    }
  }
}

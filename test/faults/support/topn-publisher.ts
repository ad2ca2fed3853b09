import { redisKeys, type TopnSet } from '@tsp/core';
import type { RedisClient } from './redis-server';

/** The tickers the fault tests trade: all of them are in the published Top-N, so every BUY is approved. */
export const FAULT_TICKERS = ['AAPL', 'MSFT', 'NVDA', 'AMD', 'TSLA'];

const REFRESH_MS = 10_000;

/**
 * Plays the screener's part: writes a fresh Top-N set to `<prefix>:topn` and announces it on
 * `<prefix>:topn:updated`, so no screener or Finviz is needed. Refreshed on a timer so the set
 * never goes stale, and after a Redis restart the next refresh re-announces it.
 */
export class TopnPublisher {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(private readonly redis: RedisClient, private readonly prefix: string) {}

  async publish(): Promise<void> {
    const set: TopnSet = {
      tickers: FAULT_TICKERS,
      top_n: FAULT_TICKERS.length,
      fetched_at: new Date().toISOString(),
      snapshot_id: 'fault-suite-topn',
      source: 'fault-suite',
    };
    const keys = redisKeys(this.prefix);
    await this.redis.set(keys.topn, JSON.stringify(set));
    await this.redis.publish(keys.topnUpdated, set.snapshot_id);
  }

  async start(): Promise<void> {
    await this.publish();
    this.timer = setInterval(() => {
      // While Redis is down (a fault test restarting it) a refresh waits; never pile them up.
      if (this.busy) return;
      this.busy = true;
      this.publish().catch(() => undefined).finally(() => { this.busy = false; });
    }, REFRESH_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

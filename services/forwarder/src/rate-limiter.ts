import Bottleneck from 'bottleneck';
import IORedis from 'ioredis';
import type { Logger } from '@tsp/core';

export interface RateLimiterOptions {
  redisUrl: string;
  /** Shared by every forwarder replica: one id, one limit. */
  limiterId: string;
  maxPerMinute: number;
  enabled: boolean;
  logger: Logger;
}

/** Spacing, not a reservoir: starts at least 60 s / cap apart never exceed the cap in any sliding 60 s window. */
export const spacingMs = (maxPerMinute: number) => Math.ceil(60_000 / maxPerMinute);

/**
 * The one global limit on requests to the destination, held in Redis by Bottleneck's clustering
 * mode so that every replica draws from the same budget. First attempts and retries alike pass
 * through it.
 */
export class DestinationRateLimiter {
  private readonly limiter: Bottleneck | null;
  private readonly connection: Bottleneck.IORedisConnection | null;
  private maxPerMinute: number;

  constructor(private readonly options: RateLimiterOptions) {
    this.maxPerMinute = options.maxPerMinute;
    if (!options.enabled) {
      this.limiter = null;
      this.connection = null;
      return;
    }
    const client = new IORedis(options.redisUrl, { maxRetriesPerRequest: null });
    this.connection = new Bottleneck.IORedisConnection({ Redis: IORedis, client } as never);
    this.connection.on('error', (error: Error) => options.logger.warn('rate limiter Redis error', { error: error.message }));
    this.limiter = new Bottleneck({
      id: options.limiterId,
      datastore: 'ioredis',
      connection: this.connection,
      clearDatastore: false,
      maxConcurrent: null,
      minTime: spacingMs(options.maxPerMinute),
    });
    this.limiter.on('error', (error: Error) => options.logger.warn('rate limiter error', { error: error.message }));
  }

  /** Applies this replica's configured cap to the shared settings (the latest replica to start wins). */
  async start(): Promise<void> {
    if (!this.limiter) return;
    await this.limiter.ready();
    await this.limiter.updateSettings({ minTime: spacingMs(this.maxPerMinute) });
  }

  /** Runs fn once the global budget allows one more request to start. */
  schedule<T>(fn: () => Promise<T>): Promise<T> {
    return this.limiter ? this.limiter.schedule(fn) : fn();
  }

  state() {
    return { enabled: this.limiter !== null, max_per_minute: this.limiter ? this.maxPerMinute : null, spacing_ms: this.limiter ? spacingMs(this.maxPerMinute) : null };
  }

  async stop(): Promise<void> {
    if (!this.limiter) return;
    // With a connection of our own, Bottleneck's disconnect() leaves the Redis clients to us.
    await Promise.resolve(this.limiter.disconnect(false)).catch(() => undefined);
    await Promise.resolve(this.connection?.disconnect(false)).catch(() => undefined);
  }
}

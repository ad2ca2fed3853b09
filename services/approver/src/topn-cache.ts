import type IORedis from 'ioredis';
import { parseTopnSet, redisKeys, type Logger, type TopnSet } from '@tsp/core';

/** A missed announcement must not leave an approver on an old set for long. */
const POLL_MS = 5000;

/**
 * The published Top-N set, held in memory so a decision costs no Redis round trip. Reloaded on
 * each `<prefix>:topn:updated` announcement, and polled as a safety net.
 */
export class TopnCache {
  private set: TopnSet | null = null;
  private loadedAt = 0;
  private poller: NodeJS.Timeout | null = null;
  private readonly keys;
  private readonly listeners: ((set: TopnSet | null) => void)[] = [];

  constructor(
    private readonly redis: IORedis,
    private readonly subscriber: IORedis,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.keys = redisKeys(prefix);
  }

  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string) => {
      if (channel === this.keys.topnUpdated) void this.reload();
    });
    // After a reconnect the subscription is restored by ioredis, but announcements made while
    // it was down are gone: reload.
    this.subscriber.on('ready', () => void this.reload());
    await this.subscriber.subscribe(this.keys.topnUpdated);
    await this.reload();
    this.poller = setInterval(() => void this.reload(), POLL_MS);
    this.poller.unref();
  }

  async reload(): Promise<void> {
    try {
      const next = parseTopnSet(await this.redis.get(this.keys.topn));
      this.set = next;
      this.loadedAt = Date.now();
      for (const listener of this.listeners) listener(next);
    } catch (error) {
      // Keep the set we have: it ages, and decisions fail closed once it is stale.
      this.logger.warn('could not read the Top-N set', { error: (error as Error).message });
    }
  }

  /** Called with each set read (announced or polled). */
  onLoad(listener: (set: TopnSet | null) => void): void {
    this.listeners.push(listener);
  }

  get current(): TopnSet | null {
    return this.set;
  }

  get lastLoadedAt(): number {
    return this.loadedAt;
  }

  stop(): void {
    if (this.poller) clearInterval(this.poller);
  }
}

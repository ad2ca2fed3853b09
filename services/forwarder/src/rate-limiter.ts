import Bottleneck from 'bottleneck';
import IORedis from 'ioredis';
import { createWorkerRedis, destinationWindows, HOUR_WINDOW_MS, limitsInForce, redisKeys, spacingMs, StartAbandonedError, StartLog, type Logger, type RateWindow, type RedisTarget } from '@tsp/core';

export interface RateLimiterOptions {
  /** Bottleneck's own connections (a client and a subscriber) go to this Redis: one node, the Sentinels' master, or a Cluster. */
  redisTarget: RedisTarget | string;
  /** For the start logs and the runtime cap override, shared by every replica. */
  redis: IORedis;
  /** KEY_PREFIX: every replica of a deployment shares one limiter, one set of logs, one cap. */
  prefix: string;
  /** The minute's cap; a cap set at runtime (POST /admin/rate-limit) wins over it. */
  maxPerMinute: number;
  /** The hour's cap (DEST_WEBHOOK_MAX_REQ_PER_HOUR). */
  maxPerHour: number;
  /** The second window's length: an hour, shorter only in tests. */
  hourWindowMs?: number;
  /** DEST_WEBHOOK_RATE_LIMITING_ENABLED; a switch at runtime (POST /admin/rate-limit) wins over it. */
  enabled: boolean;
  logger: Logger;
}


const CAP_SYNC_MS = 2000;
/** The longest a delivery holds its worker waiting for a window; past it, it is handed back to the queue. */
const HOLD_SLOT_MAX_MS = 5000;
/** Bottleneck priorities: 0 runs first, 5 is its default. */
const URGENT_PRIORITY = 0;
const NORMAL_PRIORITY = 5;
export const MAX_CAP_PER_MIN = 600_000;
/** The windows of windows(), in its order, as metrics name them. */
export const RATE_WINDOW_NAMES = ['minute', 'hour'] as const;
export type RateWindowName = (typeof RATE_WINDOW_NAMES)[number];

/** A delivery that was still waiting for a slot when the forwarder began to shut down. */
export class LimiterReleasedError extends Error {
  constructor() {
    super('the forwarder is shutting down; the delivery was not started');
    this.name = 'LimiterReleasedError';
  }
}

/**
 * The one global limit on requests to the destination, held in Redis by Bottleneck's clustering
 * mode so that every replica draws from the same budget, with logs of starts (StartLog, a minute's
 * and an hour's window) that make it exact. First attempts and retries alike pass through it. Bottleneck is patched
 * (patches/) to survive Redis losing its keys.
 */
export class DestinationRateLimiter {
  /** Built by start(), on or off: limiting can be switched on at runtime. */
  private limiter: Bottleneck | null = null;
  private connection: Bottleneck.IORedisConnection | null = null;
  private maxPerMinute: number;
  private enabled: boolean;
  private switchedAtRuntime = false;
  private syncTimer: NodeJS.Timeout | null = null;
  private readonly starts: StartLog;
  private released = false;

  constructor(private readonly options: RateLimiterOptions) {
    this.maxPerMinute = options.maxPerMinute;
    this.enabled = options.enabled;
    this.starts = new StartLog(options.redis);
  }

  /** Applies the settings in force (runtime overrides, else this replica's env) to the shared settings. */
  async start(): Promise<void> {
    const { options } = this;
    // Bottleneck's subscriber is client.duplicate(): the same kind of connection, so under Sentinel
    // both follow the master, and under a Cluster both are Cluster clients (its keys share the
    // limiter id's hash tag, the KEY_PREFIX's).
    const client = createWorkerRedis(options.redisTarget);
    this.connection = new Bottleneck.IORedisConnection({ Redis: IORedis, client });
    this.connection.on('error', (error: Error) => options.logger.warn('rate limiter Redis error', { error: error.message }));
    this.limiter = new Bottleneck({
      id: redisKeys(options.prefix).limiterId,
      datastore: 'ioredis',
      connection: this.connection,
      clearDatastore: false,
      maxConcurrent: null,
      minTime: spacingMs(options.maxPerMinute),
    });
    this.limiter.on('error', (error: Error) => options.logger.warn('rate limiter error', { error: error.message }));
    await this.limiter.ready();
    await this.sync(true);
    // Each replica re-reads the overrides: a change reaches every replica within CAP_SYNC_MS, and
    // its local copy is right if Redis ever loses the limiter's keys.
    this.syncTimer = setInterval(() => void this.sync(false).catch(() => undefined), CAP_SYNC_MS);
  }

  /**
   * Runs fn once the global budget allows one more request to start; urgent work waits first in
   * line. Rejects with LimiterReleasedError if the forwarder shuts down while it still waits,
   * StartAfterDeadlineError if no start is possible before `deadline`, WindowFullError if the
   * windows are full for longer than a worker should wait (no start is recorded for either).
   * `beforeStart` runs once the slot is granted, before the start is admitted and recorded: a
   * check that needs Redis belongs there, not in fn, which should start its request at once.
   */
  async schedule<T>(urgent: boolean, fn: () => Promise<T>, deadline?: number, beforeStart?: () => Promise<void>): Promise<T> {
    if (!this.enabled || !this.limiter) {
      await beforeStart?.();
      return fn();
    }
    if (this.released) throw new LimiterReleasedError();
    try {
      return await this.limiter.schedule({ priority: urgent ? URGENT_PRIORITY : NORMAL_PRIORITY }, async () => {
        // A full window (the hour's, typically) is not waited out here holding a worker: the
        // caller hands the delivery back (WindowFullError) and exits among them go first next time.
        await beforeStart?.();
        await this.starts.admit(this.windows(), { abandoned: () => this.released, deadline, maxWaitMs: HOLD_SLOT_MAX_MS });
        return fn();
      });
    } catch (error) {
      if (error instanceof StartAbandonedError || (this.released && error instanceof Bottleneck.BottleneckError)) throw new LimiterReleasedError();
      throw error;
    }
  }

  /**
   * At shutdown: deliveries still waiting for a slot are let go at once (their schedule() rejects)
   * so the forwarder can hand their jobs back instead of outliving the 10 s SIGTERM allows.
   */
  async release(): Promise<void> {
    if (!this.limiter || this.released) return;
    this.released = true;
    await this.limiter.stop({ dropWaitingJobs: true }).catch(() => undefined);
  }

  /** The windows in force: the minute's cap (perhaps set at runtime) and the hour's. */
  windows(): RateWindow[] {
    const { prefix, maxPerHour, hourWindowMs = HOUR_WINDOW_MS } = this.options;
    return destinationWindows(prefix, this.maxPerMinute, maxPerHour, hourWindowMs);
  }

  /**
   * Each window's starts as of now against its cap, read from the shared logs: the same for every
   * replica. Starts made while limiting is off are not logged.
   */
  async windowUse(): Promise<{ window: RateWindowName; starts: number; cap: number }[]> {
    const use = await this.starts.use(this.windows());
    return use.windows.map((w, i) => ({ window: RATE_WINDOW_NAMES[i], starts: w.used, cap: w.cap }));
  }

  /** Sets the cap for every replica at once; it outlives restarts of the forwarders. */
  async setMaxPerMinute(maxPerMinute: number): Promise<void> {
    await this.options.redis.set(redisKeys(this.options.prefix).rateCap, String(maxPerMinute));
    await this.sync(true);
  }

  /**
   * Switches limiting on or off for every replica at once (within CAP_SYNC_MS); it outlives their
   * restarts. Starts made while it is off are not in the windows' logs: switched back on, the
   * windows count from then.
   */
  async setEnabled(enabled: boolean): Promise<void> {
    await this.options.redis.set(redisKeys(this.options.prefix).rateLimiting, enabled ? '1' : '0');
    await this.sync(true);
  }

  private async sync(force: boolean): Promise<void> {
    const keys = redisKeys(this.options.prefix);
    const [capSet, switched] = await this.options.redis.mget(keys.rateCap, keys.rateLimiting);
    const { enabled, perMinute: cap, switchedAtRuntime } = limitsInForce({ enabled: this.options.enabled, perMinute: this.options.maxPerMinute }, capSet, switched);
    this.switchedAtRuntime = switchedAtRuntime;
    if (enabled !== this.enabled) {
      this.enabled = enabled;
      this.options.logger.warn(`destination rate limiting switched ${enabled ? 'on' : 'off'}`);
    }
    if (!force && cap === this.maxPerMinute) return;
    this.maxPerMinute = cap;
    // Bottleneck's types say updateSettings returns the limiter; it returns a Promise of it
    // (lib/Bottleneck.js), settled once the clustered store holds the new spacing.
    // eslint-disable-next-line @typescript-eslint/await-thenable
    if (this.limiter) await this.limiter.updateSettings({ minTime: spacingMs(cap) });
    this.options.logger.info(`destination rate cap ${cap}/min`);
  }

  /** The limits in force; with limiting off, the ones that would apply once it is switched on. */
  state() {
    return {
      enabled: this.enabled,
      switched_at_runtime: this.switchedAtRuntime,
      max_per_minute: this.maxPerMinute,
      max_per_hour: this.options.maxPerHour,
      spacing_ms: spacingMs(this.maxPerMinute),
    };
  }

  async stop(): Promise<void> {
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (!this.limiter) return;
    await this.release();
    // With a connection of our own, Bottleneck's disconnect() leaves the Redis clients to us.
    await Promise.resolve(this.limiter.disconnect(false)).catch(() => undefined);
    await Promise.resolve(this.connection?.disconnect(false)).catch(() => undefined);
  }
}

import type IORedis from 'ioredis';
import { recordScreenerRefresh, redisKeys, takeScreenerRefresh, type Logger, type ScreenerRefreshRequest } from '@tsp/core';
import type { RunReport } from './screener-loop';

export interface RefreshRequestsOptions {
  redis: IORedis;
  /** A connection of its own, in subscriber mode (shared with the settings' and the pause's announcements). */
  subscriber: IORedis;
  prefix: string;
  logger: Logger;
  /** Only the leader takes requests: it is the replica that scrapes. */
  isLeader: () => boolean;
  /** One pass now (the loop's refreshNow: after the pass in progress, never two at once). */
  refresh: () => Promise<RunReport | null>;
  /** How often the leader looks for a request besides the announcements (default 1 s). */
  pollMs?: number;
}

const DEFAULT_POLL_MS = 1000;

/**
 * Serves the refreshes asked for from the console (POST /admin/screener/refresh on ingest; the
 * request and its bounds are in core's screener-refresh.ts): the leader takes the request, scrapes
 * at once, and records how the pass went for the console.
 */
export class RefreshRequests {
  private poller: NodeJS.Timeout | null = null;
  private serving: Promise<void> | null = null;
  private stopped = false;
  private readonly channel: string;

  constructor(private readonly options: RefreshRequestsOptions) {
    this.channel = redisKeys(options.prefix).screenerRefreshRequested;
  }

  start(): void {
    const { subscriber, logger } = this.options;
    subscriber.on('message', (channel: string) => {
      if (channel === this.channel) void this.check();
    });
    subscriber.subscribe(this.channel).catch((error: Error) => logger.warn('could not subscribe to screener refresh requests', { error: error.message }));
    this.poller = setInterval(() => void this.check(), this.options.pollMs ?? DEFAULT_POLL_MS);
    this.poller.unref();
  }

  /** Stops taking requests; a pass already asked of the loop ends with the loop. */
  stop(): void {
    this.stopped = true;
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
  }

  /** One at a time: a request that arrives during a pass is taken once it is done. */
  private check(): Promise<void> {
    if (this.serving || this.stopped || !this.options.isLeader()) return this.serving ?? Promise.resolve();
    this.serving = this.serveOne().finally(() => {
      this.serving = null;
    });
    return this.serving;
  }

  private async serveOne(): Promise<void> {
    const { redis, prefix, logger } = this.options;
    let request: ScreenerRefreshRequest | null;
    try {
      request = await takeScreenerRefresh(redis, prefix);
    } catch (error) {
      logger.debug('could not read screener refresh requests', { error: (error as Error).message });
      return;
    }
    if (!request) return;
    logger.info('refresh asked for from the console: scraping now', { refresh_id: request.id, by: request.by, reason: request.reason });
    const report = await this.options.refresh();
    const result = {
      ...request, done_at: new Date().toISOString(),
      outcome: report?.outcome ?? 'stopped', published: report?.published ?? false, changed: report?.changed ?? false,
      snapshot_id: report?.snapshot_id ?? null, error: report?.error ?? null,
    };
    logger.info('refresh asked for from the console done', { refresh_id: request.id, outcome: result.outcome, changed: result.changed, snapshot_id: result.snapshot_id });
    await recordScreenerRefresh(redis, prefix, result).catch((error: Error) => logger.warn('could not record the refresh outcome', { error: error.message }));
  }
}

import { EventEmitter } from 'node:events';
import type IORedis from 'ioredis';
import { readScreenerPause, redisKeys, type Logger, type ScreenerPause } from '@tsp/core';

export interface PauseWatchOptions {
  redis: IORedis;
  /** A connection of its own, in subscriber mode (shared with the settings' announcements). */
  subscriber: IORedis;
  prefix: string;
  logger: Logger;
  /**
   * How often the pause key is read besides the announcements (default 1 s): a lost announcement
   * then delays a pause by at most this, well inside the 2 s every replica must stop within.
   */
  pollMs?: number;
}

/** What the watch tells its listeners. */
export interface PauseWatchEvents {
  paused: [pause: ScreenerPause];
  resumed: [];
}

const DEFAULT_POLL_MS = 1000;

/**
 * Follows the pause an operator sets for every screener replica (POST /admin/screener/pause on
 * ingest; the state and its rules are in core's screener-pause.ts). While Redis cannot be read
 * the last known state holds: a screener that cannot reach Redis cannot publish anyway.
 */
export class PauseWatch extends EventEmitter<PauseWatchEvents> {
  private current: ScreenerPause | null = null;
  private poller: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  private checkAgain = false;
  private readonly channel: string;

  constructor(private readonly options: PauseWatchOptions) {
    super();
    this.channel = redisKeys(options.prefix).screenerPauseChanged;
  }

  get paused(): boolean {
    return this.current !== null;
  }

  /** The pause in force (when, by whom, why), null while running. */
  get state(): ScreenerPause | null {
    return this.current;
  }

  /** Reads the state once (so a replica started while paused never scrapes), then follows it. */
  async start(): Promise<void> {
    const { subscriber, logger } = this.options;
    subscriber.on('message', (channel: string) => {
      if (channel === this.channel) void this.check();
    });
    // Announcements made while the subscription was down are gone: read the key again.
    subscriber.on('ready', () => void this.check());
    subscriber.subscribe(this.channel).catch((error: Error) => logger.warn('could not subscribe to screener pause announcements', { error: error.message }));
    await this.check();
    this.poller = setInterval(() => void this.check(), this.options.pollMs ?? DEFAULT_POLL_MS);
    this.poller.unref();
  }

  stop(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
  }

  /** One read at a time: a slow read answered after a newer one must not undo it. */
  private check(): Promise<void> {
    if (this.checking) {
      this.checkAgain = true;
      return this.checking;
    }
    this.checking = (async () => {
      do {
        this.checkAgain = false;
        await this.read();
      } while (this.checkAgain);
    })().finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async read(): Promise<void> {
    let next: ScreenerPause | null;
    try {
      next = await readScreenerPause(this.options.redis, this.options.prefix);
    } catch (error) {
      this.options.logger.debug('could not read the screener pause state', { error: (error as Error).message });
      return;
    }
    const was = this.current;
    this.current = next;
    if (next && !was) {
      this.options.logger.warn('the screener is paused for every replica: nothing is scraped, the Top-N set ages', { ...next });
      this.emit('paused', next);
    } else if (!next && was) {
      this.options.logger.info('the screener is resumed');
      this.emit('resumed');
    }
  }
}

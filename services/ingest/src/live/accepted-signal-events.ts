import type IORedis from 'ioredis';
import { addSignalChanges, type Logger, type SignalChange, type SignalJob } from '@tsp/core';

/**
 * Signals accepted within this long of the first are announced together. Short, so a signal's
 * `queued` normally reaches the feed before its decision, which the audit trail announces after
 * its own ~100 ms wait and a Postgres write.
 */
const COALESCE_MS = 50;
/** What waits while Redis cannot take it (the oldest are dropped beyond): a feed, not a record. */
const MAX_PENDING = 10_000;
const RETRY_MS = 1000;

/**
 * Announces the signals this ingest accepted on the console's live feed: one XADD per short
 * window, whatever the number of signals in it, never a Redis command per signal.
 */
export class AcceptedSignalEvents {
  private pending: SignalChange[] = [];
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly redis: IORedis, private readonly prefix: string, private readonly logger: Logger) {}

  add(signal: SignalJob): void {
    this.pending.push({
      id: signal.id, status: 'queued', ticker: signal.ticker, side: signal.side, kind: signal.kind, price: signal.price ?? null,
      received_at: signal.receivedAt, at: signal.receivedAt,
    });
    if (this.pending.length > MAX_PENDING) this.pending.splice(0, this.pending.length - MAX_PENDING);
    this.schedule(COALESCE_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flush();
  }

  private schedule(ms: number): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.flush();
    }, ms);
  }

  private async flush(): Promise<void> {
    const changes = this.pending;
    this.pending = [];
    try {
      await addSignalChanges(this.redis, this.prefix, changes);
    } catch (error) {
      this.pending = [...changes, ...this.pending].slice(-MAX_PENDING);
      this.logger.debug('accepted signals not announced yet', { error: (error as Error).message });
      this.schedule(RETRY_MS);
    }
  }
}

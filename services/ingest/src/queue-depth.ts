import type { Queue } from 'bullmq';

/**
 * The number of signals waiting for the approver, refreshed in the background so the webhook
 * path does not pay a Redis round trip for it on every request.
 */
export class QueueDepth {
  private waiting = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly queue: Queue, private readonly refreshMs = 500) {}

  start(): void {
    const refresh = () => {
      this.queue.getJobCountByTypes('waiting', 'prioritized', 'delayed').then(
        (count) => { this.waiting = count; },
        () => { /* Redis down: the enqueue itself will fail and answer 503 */ },
      );
    };
    refresh();
    this.timer = setInterval(refresh, this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  get current(): number {
    return this.waiting;
  }
}

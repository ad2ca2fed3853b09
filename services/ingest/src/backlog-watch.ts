import type { Queue } from 'bullmq';
import type IORedis from 'ioredis';
import { redisKeys } from '@tsp/core';

/**
 * The two backlogs that make ingest refuse new signals (503 with Retry-After, nothing accepted
 * is lost): signals waiting for the approver (QUEUE_MAX_SIZE) and audit records waiting for
 * Postgres (AUDIT_OUTBOX_MAX, which grows while Postgres is down). Refreshed in the background,
 * so the webhook path pays no Redis round trip for them.
 */
export class BacklogWatch {
  private waiting = 0;
  private outbox = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly queue: Queue, private readonly redis: IORedis, private readonly prefix: string, private readonly refreshMs = 500) {}

  start(): void {
    const refresh = () => {
      this.queue.getJobCountByTypes('waiting', 'prioritized', 'delayed').then(
        (count) => { this.waiting = count; },
        () => { /* Redis down: the enqueue itself will fail and answer 503 */ },
      );
      this.redis.llen(redisKeys(this.prefix).auditOutbox).then(
        (length) => { this.outbox = length; },
        () => undefined,
      );
    };
    refresh();
    this.timer = setInterval(refresh, this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  get signalsWaiting(): number {
    return this.waiting;
  }

  get auditOutbox(): number {
    return this.outbox;
  }
}

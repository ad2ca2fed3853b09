import type { Logger } from '@tsp/core';
import type { AttemptRecord } from '@tsp/db';
import type { RecordedEnd } from './delivery-ledger';

/** About a job lock's life: past it the job may be retaken elsewhere, so keep trying no longer. */
const RECORD_FOR_MS = 25_000;

/**
 * Deliveries whose 2xx came but whose recording has not succeeded yet (Redis failing right then).
 * The recording is retried for a while; if it still fails, the job fails and is retried, and its
 * next run in this process records the delivery from here instead of sending it again. (A crash of
 * this process in that window leaves the retry to another replica, which sends it again with the
 * same Idempotency-Key: at least once, never lost.)
 */
export class UnrecordedDeliveries {
  private readonly pending = new Map<string, AttemptRecord>();

  get(signalId: string): AttemptRecord | undefined {
    return this.pending.get(signalId);
  }

  /** Records the delivery; `logger` is the one about its signal (its lines carry the signal's request_id). */
  async recordOrKeep(signalId: string, attempt: AttemptRecord, record: () => Promise<RecordedEnd>, logger: Logger): Promise<RecordedEnd> {
    this.pending.set(signalId, attempt);
    const giveUpAt = Date.now() + RECORD_FOR_MS;
    for (let tries = 0; ; tries++) {
      try {
        const result = await record();
        this.pending.delete(signalId);
        return result;
      } catch (error) {
        if (tries === 0) logger.warn('delivered, but recording it failed; retrying the record (not the delivery)', { id: signalId, error: (error as Error).message });
        if (Date.now() >= giveUpAt) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 50 * 2 ** tries)));
      }
    }
  }
}

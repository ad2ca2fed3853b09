import { Counter, Gauge, type Registry } from 'prom-client';
import { cachedFor, DeadReasonSchema, METRIC, QUEUE, withTimeout } from '@tsp/core';
import type { Queue } from 'bullmq';

const STATES = ['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'] as const;
/** A Postgres that hangs must not hold the whole scrape past Prometheus's timeout. */
const DEAD_LETTER_COUNT_TIMEOUT_MS = 2000;
/**
 * /metrics is open to whoever reaches the port: the count runs at most once per this long, and
 * never twice at once (a query that outlives the scrape's timeout is not started again meanwhile).
 */
const DEAD_LETTER_COUNT_REUSE_MS = 5000;

/** What the dead-letter gauge counts from (Postgres, at scrape time). */
export interface DeadLetterCounts {
  countByReason(): Promise<Record<string, number>>;
}

export function createIngestMetrics(registry: Registry, queues: Record<string, Queue>, deadLetters: DeadLetterCounts) {
  const received = new Counter({ name: METRIC.received, help: 'Signals accepted and enqueued', registers: [registry] });
  const invalid = new Counter({ name: METRIC.signalsInvalid, help: 'Signals refused as invalid (400)', registers: [registry] });
  new Gauge({
    name: METRIC.queueJobs,
    help: 'Jobs per queue and state',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      for (const name of [QUEUE.signals, QUEUE.forward]) {
        try {
          const counts = await queues[name].getJobCounts(...STATES);
          for (const state of STATES) this.set({ queue: name, state }, counts[state] ?? 0);
        } catch {
          // Redis down: /ready reports it; keep the last values.
        }
      }
    },
  });
  // Every known reason is shown, at 0 while none is dead for it.
  const noDeadLetters: Record<string, number> = Object.fromEntries(DeadReasonSchema.options.map((reason) => [reason, 0]));
  const countDeadLetters = cachedFor(DEAD_LETTER_COUNT_REUSE_MS, () => deadLetters.countByReason());
  const dead = new Gauge({
    name: METRIC.deadLetters,
    help: 'Dead letters waiting in the audit trail (delivery failed for good; replay from the console or POST /admin/dead/:id/replay), by reason',
    labelNames: ['reason'],
    registers: [registry],
    async collect() {
      // Postgres down: /ready reports it; keep the last values.
      const counts = await withTimeout(countDeadLetters(), DEAD_LETTER_COUNT_TIMEOUT_MS).catch(() => null);
      if (!counts) return;
      // Reasons with none left read 0 again after a replay, not their last count; a reason no
      // longer counted at all disappears.
      dead.reset();
      for (const [reason, count] of Object.entries({ ...noDeadLetters, ...counts })) dead.set({ reason }, count);
    },
  });
  for (const [reason, count] of Object.entries(noDeadLetters)) dead.set({ reason }, count);
  return { received, invalid };
}

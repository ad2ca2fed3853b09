import { Counter, Histogram, type Registry } from 'prom-client';
import { E2E_BUCKETS, METRIC } from '@tsp/core';

export type ForwarderMetrics = ReturnType<typeof createForwarderMetrics>;

export function createForwarderMetrics(registry: Registry) {
  return {
    /** outcome: delivered, retry, dead, expired. */
    attempts: new Counter({ name: METRIC.forwardAttempts, help: 'Delivery attempts by outcome', labelNames: ['outcome'], registers: [registry] }),
    e2eSeconds: new Histogram({ name: METRIC.e2eSeconds, help: 'Received to delivered, seconds', buckets: E2E_BUCKETS, registers: [registry] }),
    /** Exits of open positions delivered after SIGNAL_TTL_SEC: they never expire, but someone should know. */
    exitsPastTtl: new Counter({ name: METRIC.exitsPastTtl, help: 'Exits of open positions delivered older than SIGNAL_TTL_SEC', registers: [registry] }),
    /** Deliveries that found an earlier signal of their ticker still on its way and waited for it. */
    laneParks: new Counter({ name: METRIC.laneParks, help: 'Signals parked until an earlier signal of their ticker ended', registers: [registry] }),
  };
}

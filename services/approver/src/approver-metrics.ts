import { Counter, Gauge, type Registry } from 'prom-client';
import { METRIC, topnAgeSec } from '@tsp/core';
import type { TopnCache } from './topn-cache';

export type ApproverMetrics = ReturnType<typeof createApproverMetrics>;

export function createApproverMetrics(registry: Registry, topn: TopnCache) {
  new Gauge({
    name: METRIC.topnAgeSeconds,
    help: 'Age of the Top-N set this approver decides against',
    registers: [registry],
    collect() {
      const set = topn.current;
      this.set(set ? topnAgeSec(set) : -1);
    },
  });
  return {
    approved: new Counter({ name: METRIC.approved, help: 'Signals approved', labelNames: ['basis'], registers: [registry] }),
    rejected: new Counter({ name: METRIC.rejected, help: 'Signals rejected', labelNames: ['reason'], registers: [registry] }),
    /** SELLs judged at their turn that found an earlier signal of their ticker still on its way. */
    laneParks: new Counter({ name: METRIC.laneParks, help: 'Signals parked until an earlier signal of their ticker ended', registers: [registry] }),
  };
}

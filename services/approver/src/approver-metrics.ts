import { Counter, Gauge, type Registry } from 'prom-client';
import { ApprovalBasisSchema, isTopnStale, METRIC, RejectReasonSchema, topnAgeSec, zeroLabels } from '@tsp/core';
import type { TopnCache } from './topn-cache';

export type ApproverMetrics = ReturnType<typeof createApproverMetrics>;

export function createApproverMetrics(registry: Registry, topn: TopnCache, maxAgeSec: number) {
  new Gauge({
    name: METRIC.topnAgeSeconds,
    help: 'Age of the Top-N set this approver decides against',
    registers: [registry],
    collect() {
      const set = topn.current;
      this.set(set ? topnAgeSec(set) : -1);
    },
  });
  new Gauge({
    name: METRIC.topnMaxAgeSeconds,
    help: 'TOPN_MAX_AGE_SEC: a Top-N set older than this is stale and BUYs are rejected topn_stale',
    registers: [registry],
    collect() {
      this.set(maxAgeSec);
    },
  });
  new Gauge({
    name: METRIC.topnStale,
    help: '1 while this approver has no Top-N set or only a stale one (BUYs are rejected), else 0',
    registers: [registry],
    collect() {
      const set = topn.current;
      this.set(!set || isTopnStale(set, maxAgeSec) ? 1 : 0);
    },
  });
  const approved = new Counter({ name: METRIC.approved, help: 'Signals approved', labelNames: ['basis'], registers: [registry] });
  const rejected = new Counter({ name: METRIC.rejected, help: 'Signals rejected', labelNames: ['reason'], registers: [registry] });
  zeroLabels(approved, 'basis', ApprovalBasisSchema.options);
  zeroLabels(rejected, 'reason', RejectReasonSchema.options);
  return {
    approved,
    rejected,
    /** SELLs judged at their turn that found an earlier signal of their ticker still on its way. */
    laneParks: new Counter({ name: METRIC.laneParks, help: 'Signals parked until an earlier signal of their ticker ended', registers: [registry] }),
  };
}

import { Counter, Gauge, type Registry } from 'prom-client';
import { METRIC, QUEUE } from '@tsp/core';
import type { Queue } from 'bullmq';

const STATES = ['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'] as const;

export function createIngestMetrics(registry: Registry, queues: Record<string, Queue>) {
  const received = new Counter({ name: METRIC.received, help: 'Signals accepted and enqueued', registers: [registry] });
  const invalid = new Counter({ name: 'tsp_signals_invalid_total', help: 'Signals refused as invalid (400)', registers: [registry] });
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
  return { received, invalid };
}

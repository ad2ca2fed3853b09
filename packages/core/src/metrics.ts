import { Registry, collectDefaultMetrics, type Counter } from 'prom-client';

/** One registry per process, labelled with its service, with Node's default metrics. */
export function createRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

/** Buckets for received → delivered latency, from sub-millisecond to the signal TTL. */
export const E2E_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** The `outcome` of tsp_forward_attempts_total: every delivery attempt ends in one of these. */
export const FORWARD_OUTCOMES = ['delivered', 'retry', 'dead', 'expired'] as const;

/**
 * Exposes every known label value of a counter at 0 before it first counts: a series that appears
 * only at its first event makes rate() and increase() blind to that event, and an alert on it
 * silent until the second.
 */
export function zeroLabels<L extends string>(counter: Counter<L>, label: L, values: readonly string[]): void {
  for (const value of values) counter.inc({ [label]: value } as Partial<Record<L, string>>, 0);
}

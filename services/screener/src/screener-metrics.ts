import { Counter, Gauge, type Registry } from 'prom-client';
import { METRIC, topnAgeSec, type TopnSet } from '@tsp/core';
import { FETCH_OUTCOMES, type FetchOutcome } from './screener-errors';

export type ScreenerMetrics = ReturnType<typeof createScreenerMetrics>;

export function createScreenerMetrics(registry: Registry, current: () => TopnSet | null) {
  const fetches = new Counter({
    name: METRIC.screenerFetches,
    help: 'Screener page fetches by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  // Every outcome from zero, so a rate() alert on "blocked" works before the first block.
  for (const outcome of FETCH_OUTCOMES) fetches.inc({ outcome }, 0);

  new Gauge({
    name: METRIC.topnAgeSeconds,
    help: 'Age of the Top-N set this screener last published (-1: none yet)',
    registers: [registry],
    collect() {
      const set = current();
      this.set(set ? topnAgeSec(set) : -1);
    },
  });

  return {
    fetched(outcome: FetchOutcome): void {
      fetches.inc({ outcome });
    },
  };
}

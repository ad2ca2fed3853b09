import { Counter, Gauge, type Registry } from 'prom-client';
import { METRIC, topnAgeSec, type TopnSet } from '@tsp/core';
import { FETCH_OUTCOMES, type FetchOutcome } from './finviz/screener-errors';

export type ScreenerMetrics = ReturnType<typeof createScreenerMetrics>;

/** What the gauges read when scraped. */
export interface ScreenerGaugeSources {
  /** The set this replica last published or saw. */
  current: () => TopnSet | null;
  isLeader: () => boolean;
  isPaused: () => boolean;
}

export function createScreenerMetrics(registry: Registry, { current, isLeader, isPaused }: ScreenerGaugeSources) {
  const fetches = new Counter({
    name: METRIC.screenerFetches,
    help: 'Requests to Finviz (screener pages, Elite exports) by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  // Every outcome from zero, so a rate() alert on "blocked" works before the first block.
  for (const outcome of FETCH_OUTCOMES) fetches.inc({ outcome }, 0);

  const logins = new Counter({
    name: METRIC.screenerLogins,
    help: 'Finviz Elite logins by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  for (const outcome of ['ok', 'failed']) logins.inc({ outcome }, 0);

  const duplicates = new Counter({
    name: METRIC.screenerDuplicatesDropped,
    help: 'Tickers read twice across screener page boundaries (the list moved between requests) and dropped',
    registers: [registry],
  });

  new Gauge({
    name: METRIC.screenerLeader,
    help: '1 while this screener replica is the leader (the one that scrapes), else 0',
    registers: [registry],
    collect() {
      this.set(isLeader() ? 1 : 0);
    },
  });

  new Gauge({
    name: METRIC.screenerPaused,
    help: '1 while an operator has paused the screener (every replica), else 0',
    registers: [registry],
    collect() {
      this.set(isPaused() ? 1 : 0);
    },
  });

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
    loggedIn(outcome: 'ok' | 'failed'): void {
      logins.inc({ outcome });
    },
    duplicatesDropped(count: number): void {
      if (count > 0) duplicates.inc(count);
    },
  };
}

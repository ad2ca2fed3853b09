import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { E2E_BUCKETS, FORWARD_OUTCOMES, METRIC, withTimeout, zeroLabels } from '@tsp/core';
import { RATE_WINDOW_NAMES, type DestinationRateLimiter } from './rate-limiter';

/** This replica's Redis connection queues commands while Redis is away: a scrape does not wait for it. */
const WINDOW_READ_TIMEOUT_MS = 2000;

export type ForwarderMetrics = ReturnType<typeof createForwarderMetrics>;

export function createForwarderMetrics(registry: Registry, limiter: DestinationRateLimiter) {
  registerRateWindowMetrics(registry, limiter);
  const attempts = new Counter({ name: METRIC.forwardAttempts, help: 'Delivery attempts by outcome', labelNames: ['outcome'], registers: [registry] });
  zeroLabels(attempts, 'outcome', FORWARD_OUTCOMES);
  return {
    /** outcome: delivered, retry, dead, expired. */
    attempts,
    e2eSeconds: new Histogram({ name: METRIC.e2eSeconds, help: 'Received to delivered, seconds', buckets: E2E_BUCKETS, registers: [registry] }),
    /** Exits of open positions delivered after SIGNAL_TTL_SEC: they never expire, but someone should know. */
    exitsPastTtl: new Counter({ name: METRIC.exitsPastTtl, help: 'Exits of open positions delivered older than SIGNAL_TTL_SEC', registers: [registry] }),
    /** Deliveries that found an earlier signal of their ticker still on its way and waited for it. */
    laneParks: new Counter({ name: METRIC.laneParks, help: 'Signals parked until an earlier signal of their ticker ended', registers: [registry] }),
  };
}

/**
 * The global cap's use, read from the shared start logs when scraped (two ZCOUNTs), never per
 * delivery. Every replica reports the same deployment-wide figures: aggregate with max(), not sum().
 */
function registerRateWindowMetrics(registry: Registry, limiter: DestinationRateLimiter): void {
  const starts = new Gauge({
    name: METRIC.rateWindowStarts,
    help: 'Requests to the destination started in the sliding window (minute: 61 s, hour: 3601 s: the destination\'s plus a second\'s margin), all forwarder replicas together',
    labelNames: ['window'],
    registers: [registry],
    async collect() {
      // Redis down: /ready says so; keep the last values.
      const use = await withTimeout(limiter.windowUse(), WINDOW_READ_TIMEOUT_MS).catch(() => null);
      for (const w of use ?? []) starts.set({ window: w.window }, w.starts);
    },
  });
  const cap = new Gauge({
    name: METRIC.rateWindowCap,
    help: 'The most requests the window admits (DEST_WEBHOOK_MAX_REQ_PER_MIN, or the cap set at runtime; DEST_WEBHOOK_MAX_REQ_PER_HOUR)',
    labelNames: ['window'],
    registers: [registry],
    collect() {
      const { max_per_minute, max_per_hour } = limiter.state();
      cap.set({ window: 'minute' }, max_per_minute);
      cap.set({ window: 'hour' }, max_per_hour);
    },
  });
  for (const window of RATE_WINDOW_NAMES) starts.set({ window }, 0);
  new Gauge({
    name: METRIC.rateLimitingEnabled,
    help: '1 while the destination rate cap is enforced, 0 while switched off (env or POST /admin/rate-limit)',
    registers: [registry],
    collect() {
      this.set(limiter.state().enabled ? 1 : 0);
    },
  });
}

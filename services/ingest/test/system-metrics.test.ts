import IORedis from 'ioredis';
import { Registry } from 'prom-client';
import { METRIC, SystemStats } from '@tsp/core';
import { registerSystemMetrics } from '../src/system-metrics';
import type { BacklogWatch } from '../src/backlog-watch';
import { deletePrefixKeys, uniquePrefix } from '../../../test/support/helpers';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const backlog = { auditOutbox: 0, signalsWaiting: 0 } as unknown as BacklogWatch;

/** A sample's value from the exposition text, or null when the series is absent. */
function sample(text: string, line: string): number | null {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : null;
}

describe("ingest's relay-wide counters (read from Redis at scrape time)", () => {
  const prefix = uniquePrefix('sysmetrics');
  const admin = new IORedis(REDIS_URL);
  afterAll(async () => {
    await deletePrefixKeys(prefix);
    await admin.quit();
  });

  it('keep their last values while Redis cannot be read, instead of falling to zero (which Prometheus reads as a reset)', async () => {
    const connection = new IORedis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await new Promise((resolve) => connection.once('ready', resolve));
    const stats = new SystemStats(connection, prefix);
    await stats.countAttempt('delivered');
    await stats.countAttempt('dead');
    for (const { key, field, by } of stats.deliveryCounters(0.02)) await admin.hincrbyfloat(key, field, by);
    await stats.countAttempt('delivered');
    const registry = new Registry();
    registerSystemMetrics(registry, stats, backlog, 1000);

    const before = await registry.metrics();
    // Two counted here, one more by the delivery's counters.
    expect(sample(before, `${METRIC.forwardAttempts}{outcome="delivered"}`)).toBe(3);
    expect(sample(before, `${METRIC.forwardAttempts}{outcome="dead"}`)).toBe(1);
    const e2eBefore = sample(before, `${METRIC.e2eSeconds}_count`);
    expect(e2eBefore).toBeGreaterThan(0);

    connection.disconnect();
    const during = await registry.metrics();
    expect(sample(during, `${METRIC.forwardAttempts}{outcome="delivered"}`)).toBe(3);
    expect(sample(during, `${METRIC.forwardAttempts}{outcome="dead"}`)).toBe(1);
    expect(sample(during, `${METRIC.e2eSeconds}_count`)).toBe(e2eBefore);
  });
});

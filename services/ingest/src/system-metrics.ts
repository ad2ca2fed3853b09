import { Counter, Gauge, type Registry } from 'prom-client';
import { ApprovalBasisSchema, E2E_BUCKETS, FORWARD_OUTCOMES, METRIC, RejectReasonSchema, STAT, type SystemStats } from '@tsp/core';
import type { BacklogWatch } from './backlog-watch';

const SYSTEM_HELP = '(whole relay, from Redis)';

/**
 * The relay's own counters on ingest's /metrics, read from Redis at scrape time, so the public
 * port alone shows every metric of the contract. The approvers and forwarders also expose their
 * per-process counts under the same names; tell them apart by the `service` label.
 */
export function registerSystemMetrics(registry: Registry, stats: SystemStats, backlog: BacklogWatch, auditOutboxMax: number): void {
  // Every known label value from zero (see zeroLabels): the Redis hash holds only those counted once.
  const labelled = (name: string, help: string, label: string, known: readonly string[], pick: (all: Awaited<ReturnType<SystemStats['readLabelled']>>) => Record<string, number>) =>
    new Counter({
      name,
      help: `${help} ${SYSTEM_HELP}`,
      labelNames: [label],
      registers: [registry],
      async collect() {
        // Redis unreadable: the last values stand. Zeros would read as a counter reset, and rate()
        // would then count the whole history again once Redis answers.
        const all = await stats.readLabelled().catch(() => null);
        if (!all) return;
        const counts = pick(all);
        this.reset();
        for (const value of known) this.inc({ [label]: value }, 0);
        for (const [value, count] of Object.entries(counts)) this.inc({ [label]: value }, count);
      },
    });
  labelled(METRIC.approved, 'Signals approved', 'basis', ApprovalBasisSchema.options, (all) => all.approved);
  labelled(METRIC.rejected, 'Signals rejected', 'reason', RejectReasonSchema.options, (all) => all.rejected);
  labelled(METRIC.forwardAttempts, 'Delivery attempts by outcome', 'outcome', FORWARD_OUTCOMES, (all) => all.forward_attempts);
  registry.registerMetric(new RedisE2eHistogram(stats) as never);
  new Gauge({
    name: METRIC.auditOutbox,
    help: `Audit records waiting to be written to Postgres; past AUDIT_OUTBOX_MAX ingest refuses signals ${SYSTEM_HELP}`,
    registers: [registry],
    collect() { this.set(backlog.auditOutbox); },
  });
  new Gauge({
    name: METRIC.auditOutboxMax,
    help: 'AUDIT_OUTBOX_MAX: at this many audit records waiting, ingest answers 503 to new signals',
    registers: [registry],
    collect() { this.set(auditOutboxMax); },
  });
  new Counter({
    name: METRIC.auditSetAside,
    help: `Audit records Postgres refused for their data, set aside for an operator ${SYSTEM_HELP}`,
    registers: [registry],
    async collect() {
      const counts = await stats.read().catch(() => null);
      if (!counts) return;
      this.reset();
      this.inc(counts[STAT.auditSetAside]);
    },
  });
}

/** tsp_signal_e2e_seconds, summed over every forwarder replica (prom-client cannot set a histogram's buckets). */
class RedisE2eHistogram {
  readonly name = METRIC.e2eSeconds;
  readonly help = `Received to delivered, seconds ${SYSTEM_HELP}`;
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  /** The last read: shown again while Redis cannot be read (zeros would read as a reset). */
  private last: Awaited<ReturnType<SystemStats['readE2e']>> = { buckets: E2E_BUCKETS.map((le) => ({ le, count: 0 })), count: 0, sum: 0 };

  constructor(private readonly stats: SystemStats) {}

  async get() {
    const e2e = (this.last = await this.stats.readE2e().catch(() => this.last));
    const name = this.name;
    return {
      name, help: this.help, type: this.type, aggregator: this.aggregator,
      values: [
        ...e2e.buckets.map((b) => ({ metricName: `${name}_bucket`, labels: { le: b.le }, value: b.count })),
        { metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: e2e.count },
        { metricName: `${name}_sum`, labels: {}, value: e2e.sum },
        { metricName: `${name}_count`, labels: {}, value: e2e.count },
      ],
    };
  }

  reset(): void {}
}

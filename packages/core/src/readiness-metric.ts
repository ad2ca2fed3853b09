import { Gauge } from 'prom-client';
import { METRIC } from './names';
import { failingDependencies, type ServiceProbes } from './service-routes';

/**
 * tsp_ready: 1 while /ready would answer 200, else 0, checked at scrape time by the same checks.
 * A probe sees one replica at one moment; this lets Prometheus keep the history and alert on a
 * replica that stays unready (a service that is down shows as `up == 0` instead).
 */
export function registerReadinessMetric(probes: ServiceProbes): void {
  const registry = probes.metrics;
  if (registry.getSingleMetric(METRIC.ready)) return;
  new Gauge({
    name: METRIC.ready,
    help: '1 while this replica is ready (GET /ready answers 200: its Redis, Postgres and configuration are usable), else 0',
    registers: [registry],
    async collect() {
      this.set(Object.keys(await failingDependencies(probes)).length === 0 ? 1 : 0);
    },
  });
}

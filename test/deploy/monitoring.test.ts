/**
 * deploy/grafana, deploy/prometheus and k8s/components/monitoring against the metrics the four
 * services really expose: each is started here (real Redis, Postgres and HTTP) and its /metrics
 * read, so a panel or an alert that queries a name, a `service` or a label value no service
 * exposes fails here instead of showing "No data" on the night it matters.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parse } from 'yaml';
import IORedis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { createPrisma } from '@tsp/db';
import { createLogger, deploymentOf, destinationWindows, loadConfig, redisKeys, StartLog, type Config, type RunningService } from '@tsp/core';
import { startApprover } from '../../services/approver/src/service';
import { startForwarder } from '../../services/forwarder/src/service';
import { startIngest } from '../../services/ingest/src/service';
import { startScreener } from '../../services/screener/src/service';
import { startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../support/helpers';
import { ROOT, SERVICES, SERVICE_NAMES, type Service } from '../support/deploy-contract';
import { kustomizeBuild } from '../support/kustomize-build';
import { promqlSelectors, type VectorSelector } from '../support/promql-metric-names';
import { parseExposition, selected, type ExposedSeries } from '../support/prometheus-exposition';

const DASHBOARD = 'deploy/grafana/tsp-relay.json';
const ALERTS = 'deploy/prometheus/tsp-alerts.yml';
const PROMETHEUS = 'deploy/prometheus/prometheus.yml';
/** Labels Prometheus gives a target's series itself, not the service. */
const TARGET_LABELS = new Set(['job', 'instance']);
/** Series Prometheus makes for each target (`up`), checked against the scrape jobs instead. */
const PROMETHEUS_MADE = new Set(['up']);

const readText = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

interface Panel { type: string; title: string; id: number; datasource?: { type: string; uid: string }; gridPos: { h: number; w: number; x: number; y: number }; targets?: { expr: string; datasource?: { uid: string } }[]; panels?: Panel[] }
interface Dashboard { schemaVersion: number; uid: string; title: string; panels: Panel[]; templating: { list: { name: string; type: string; query: string }[] } }
interface AlertRule { alert: string; expr: string; for: string; labels: Record<string, string>; annotations: Record<string, string> }
interface RuleFile { groups: { name: string; rules: AlertRule[] }[] }
interface ScrapeConfig { job_name: string; metrics_path?: string; honor_labels?: boolean; static_configs: { targets: string[] }[] }

const dashboard = JSON.parse(readText(DASHBOARD)) as Dashboard;
const rules = parse(readText(ALERTS)) as RuleFile;
const prometheus = parse(readText(PROMETHEUS)) as { rule_files: string[]; scrape_configs: ScrapeConfig[] };
const allPanels = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
const dashboardExprs = allPanels(dashboard.panels).flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr })));
const alertExprs = rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })));

/**
 * Why a selector selects nothing the services expose, or null when it selects something; each
 * alternative of a plain `a|b|c` regex must select something of its own (a typo'd one would not).
 */
function unexposed(selector: VectorSelector, series: ExposedSeries[]): string | null {
  const own = { ...selector, matchers: selector.matchers.filter((m) => !TARGET_LABELS.has(m.label)) };
  if (!series.some((s) => s.name === own.name)) return `${own.name} is exposed by no service`;
  if (selected(own, series).length === 0) return `${own.name}${JSON.stringify(own.matchers)} selects no exposed series`;
  for (const m of own.matchers) {
    if (m.op !== '=~' || !/^\w+(\|\w+)+$/.test(m.value)) continue;
    for (const value of m.value.split('|')) {
      const one = { ...own, matchers: own.matchers.map((n) => (n === m ? { ...m, op: '=' as const, value } : n)) };
      if (selected(one, series).length === 0) return `${own.name}: ${m.label}="${value}" selects no exposed series`;
    }
  }
  return null;
}

describe('monitoring', () => {
  const prefix = uniquePrefix('monitoring');
  const logger = createLogger('monitoring', process.env.LOG_LEVEL ?? 'error');
  const running: Partial<Record<Service, RunningService & { port: number }>> = {};
  const redis = new IORedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const prisma = createPrisma(process.env.DATABASE_URL!);
  let destination: LocalServer;
  let config: Config;
  /** Every series of every service, read from their /metrics. */
  let exposed: ExposedSeries[] = [];

  const scrape = async (service: Service) => parseExposition(await (await fetch(`http://127.0.0.1:${running[service]!.port}/metrics`)).text());
  /** The value of one series, polled: /metrics is computed at most once a second. */
  const valueOf = async (service: Service, name: string, labels: Record<string, string>, expected: number) =>
    waitFor(async () => {
      const found = (await scrape(service)).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
      return found?.value === expected ? found : null;
    }, 10_000, `${service} ${name}${JSON.stringify(labels)} = ${expected}`);

  beforeAll(async () => {
    destination = await startLocalServer();
    const env: Record<string, string | undefined> = {
      ...process.env,
      KEY_PREFIX: prefix, INGEST_PORT: '0', SCREENER_PORT: '0', APPROVER_PORT: '0', FORWARDER_PORT: '0',
      DEST_WEBHOOK_URL: `${destination.url}/hook`, ADMIN_TOKEN: 'monitoring-admin-token-0123456789', WEBHOOK_AUTH: 'none',
      DEST_WEBHOOK_MAX_REQ_PER_MIN: '7', DEST_WEBHOOK_MAX_REQ_PER_HOUR: '70', TOPN_MAX_AGE_SEC: '120',
    };
    // A screener without a screener URL is not ready: one service of four that /ready refuses.
    delete env.FINVIZ_URL;
    config = loadConfig(env);
    running.screener = await startScreener(config, logger);
    running.approver = await startApprover(config, logger);
    running.forwarder = await startForwarder(config, logger);
    running.ingest = await startIngest(config, logger);
    exposed = (await Promise.all(SERVICE_NAMES.map(scrape))).flat();
  }, 60_000);

  afterAll(async () => {
    for (const service of ['ingest', 'forwarder', 'approver', 'screener'] as const) await running[service]?.stop();
    await destination?.close();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await prisma.$disconnect();
  });

  it('reads the services: each labels its series with its name, and all four expose tsp_ready', () => {
    for (const service of SERVICE_NAMES) {
      const own = exposed.filter((s) => s.labels.service === service);
      expect(own.length).toBeGreaterThan(0);
      expect(own.some((s) => s.name === 'tsp_ready')).toBe(true);
    }
    expect(exposed.every((s) => SERVICE_NAMES.includes(s.labels.service as Service))).toBe(true);
  });

  describe('the Grafana dashboard', () => {
    it('is a dashboard of a recent schema, on a Prometheus chosen by a datasource variable', () => {
      expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
      expect(dashboard.uid).toBe('tsp-relay');
      const variable = dashboard.templating.list.find((v) => v.type === 'datasource');
      expect(variable).toMatchObject({ query: 'prometheus' });
      const panels = allPanels(dashboard.panels).filter((p) => p.type !== 'row');
      expect(panels.length).toBeGreaterThan(10);
      for (const panel of panels) {
        expect(panel.datasource?.uid).toBe(`\${${variable!.name}}`);
        expect(panel.targets?.length).toBeGreaterThan(0);
        for (const target of panel.targets!) expect(target.datasource?.uid).toBe(`\${${variable!.name}}`);
      }
    });

    it('has unique panel ids and no panels laid over one another', () => {
      const panels = allPanels(dashboard.panels);
      expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
      const overlaps = (a: Panel['gridPos'], b: Panel['gridPos']) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
      for (const [i, a] of panels.entries()) {
        expect(a.gridPos.x + a.gridPos.w).toBeLessThanOrEqual(24);
        for (const b of panels.slice(i + 1)) expect(overlaps(a.gridPos, b.gridPos) ? `${a.title} / ${b.title}` : null).toBeNull();
      }
    });

    it('queries only series some service exposes', () => {
      const problems = dashboardExprs.flatMap(({ where, expr }) =>
        promqlSelectors(expr).filter((s) => !PROMETHEUS_MADE.has(s.name)).map((s) => unexposed(s, exposed)).filter(Boolean).map((why) => `${where}: ${why}`));
      expect(problems).toEqual([]);
    });

    it('shows what an operator watches: signals, latency, deliveries, cap use, queues, Top-N, dead letters, audit outbox, readiness, CPU and memory', () => {
      const queried = new Set(dashboardExprs.flatMap(({ expr }) => promqlSelectors(expr).map((s) => s.name)));
      for (const name of [
        'tsp_signals_received_total', 'tsp_signals_approved_total', 'tsp_signals_rejected_total', 'tsp_signal_e2e_seconds_bucket',
        'tsp_forward_attempts_total', 'tsp_rate_window_starts', 'tsp_rate_window_cap', 'tsp_queue_jobs', 'tsp_topn_age_seconds', 'tsp_topn_stale',
        'tsp_dead_letters', 'tsp_audit_outbox_records', 'tsp_ready', 'process_cpu_seconds_total', 'process_resident_memory_bytes',
      ]) expect(queried.has(name) ? name : `${name} is on no panel`).toBe(name);
    });
  });

  describe('the alert rules', () => {
    const alerts = rules.groups.flatMap((g) => g.rules);

    it('are rule groups of alerts, each with an expression, a duration, a severity, and a summary and description with a runbook hint', () => {
      expect(rules.groups.length).toBeGreaterThan(0);
      for (const group of rules.groups) {
        expect(group.name).toMatch(/\S/);
        expect(group.rules.length).toBeGreaterThan(0);
      }
      for (const rule of alerts) {
        expect(Object.keys(rule).sort()).toEqual(['alert', 'annotations', 'expr', 'for', 'labels']);
        expect(rule.alert).toMatch(/^Tsp[A-Z][A-Za-z]+$/);
        expect(typeof rule.expr).toBe('string');
        expect(rule.for).toMatch(/^(\d+[smhd])+$/);
        expect(['critical', 'warning', 'info']).toContain(rule.labels.severity);
        expect(rule.annotations.summary).toMatch(/\S/);
        expect(rule.annotations.description).toMatch(/Runbook: \S/);
      }
      expect(new Set(alerts.map((r) => r.alert)).size).toBe(alerts.length);
    });

    it('name in their annotations only labels their result keeps', () => {
      for (const rule of alerts) {
        const used = [...Object.values(rule.annotations).join(' ').matchAll(/\$labels\.(\w+)/g)].map((m) => m[1]);
        if (!used.length) continue;
        // An aggregation keeps only its `by` labels; a bare selector keeps all of its series' labels.
        const aggregated = /\b(sum|min|max|avg|count|group|topk|bottomk|quantile)\b/.test(rule.expr);
        const kept = [...rule.expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((m) => m[1].split(',').map((l) => l.trim()));
        for (const label of used) expect(`${rule.alert}: ${label}${!aggregated || kept.includes(label) ? '' : ' is aggregated away'}`).toBe(`${rule.alert}: ${label}`);
      }
    });

    it('cover what an operator must be woken for', () => {
      expect(alerts.map((r) => r.alert)).toEqual(expect.arrayContaining([
        'TspTopnStale', 'TspDeadLettersAppeared', 'TspAuditOutboxGrowing', 'TspDeliveryFailureRateHigh', 'TspRateCapSaturated', 'TspServiceNotReady', 'TspServiceDown',
      ]));
    });

    it('read only series some service exposes, and `up` of the scrape jobs of prometheus.yml', () => {
      const problems = alertExprs.flatMap(({ where, expr }) =>
        promqlSelectors(expr).filter((s) => !PROMETHEUS_MADE.has(s.name)).map((s) => unexposed(s, exposed)).filter(Boolean).map((why) => `${where}: ${why}`));
      expect(problems).toEqual([]);
      const jobs = prometheus.scrape_configs.map((c) => c.job_name);
      for (const { expr } of [...alertExprs, ...dashboardExprs]) {
        for (const up of promqlSelectors(expr).filter((s) => s.name === 'up')) {
          const job = up.matchers.find((m) => m.label === 'job')!;
          expect(jobs.filter((name) => selected({ name: 'up', matchers: [job] }, [{ name: 'up', labels: { job: name }, value: 1 }]).length)).toEqual(jobs);
        }
      }
    });

    it('ship to the Prometheus Operator as a PrometheusRule with the same groups, beside the ServiceMonitor that keeps the services\' own `service` label', () => {
      const objects = kustomizeBuild(path.join(ROOT, 'k8s/overlays/prod'));
      const rule = objects.find((o) => o.kind === 'PrometheusRule');
      expect(rule?.spec).toEqual(rules);
      const monitor = objects.find((o) => o.kind === 'ServiceMonitor')!;
      for (const endpoint of monitor.spec.endpoints) expect(endpoint.honorLabels).toBe(true);
    });
  });

  describe('the sample prometheus.yml', () => {
    it('scrapes each service as tsp-<service> on its contract port at /metrics, keeps its labels, and loads the alerts', () => {
      expect(prometheus.scrape_configs.map((c) => c.job_name).sort()).toEqual(SERVICE_NAMES.map((s) => `tsp-${s}`).sort());
      for (const service of SERVICE_NAMES) {
        const job = prometheus.scrape_configs.find((c) => c.job_name === `tsp-${service}`)!;
        expect(job.metrics_path ?? '/metrics').toBe('/metrics');
        expect(job.honor_labels).toBe(true);
        for (const target of job.static_configs.flatMap((s) => s.targets)) expect(target).toMatch(new RegExp(`:${SERVICES[service].port}$`));
      }
      for (const file of prometheus.rule_files) expect(fs.existsSync(path.join(ROOT, path.dirname(PROMETHEUS), file))).toBe(true);
      expect(prometheus.rule_files).toContain(path.basename(ALERTS));
    });
  });

  const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  const hasPromtool = !promtool.error && promtool.status === 0;
  (hasPromtool ? it : it.skip)(`passes promtool check rules and check config${hasPromtool ? '' : ' (SKIPPED: promtool is not on the PATH; the structure and names are checked above)'}`, () => {
    const rulesCheck = spawnSync('promtool', ['check', 'rules', path.join(ROOT, ALERTS)], { encoding: 'utf8' });
    expect(rulesCheck.status === 0 ? 'ok' : rulesCheck.stdout + rulesCheck.stderr).toBe('ok');
    const configCheck = spawnSync('promtool', ['check', 'config', path.join(ROOT, PROMETHEUS)], { encoding: 'utf8' });
    expect(configCheck.status === 0 ? 'ok' : configCheck.stdout + configCheck.stderr).toBe('ok');
  });

  describe('the metrics the alerts read follow what they describe', () => {
    it('tsp_ready is 1 on a ready service and 0 on one that is not (a screener without FINVIZ_URL)', async () => {
      expect((await fetch(`http://127.0.0.1:${running.forwarder!.port}/ready`)).status).toBe(200);
      await valueOf('forwarder', 'tsp_ready', {}, 1);
      expect((await fetch(`http://127.0.0.1:${running.screener!.port}/ready`)).status).toBe(503);
      await valueOf('screener', 'tsp_ready', {}, 0);
    });

    it('tsp_topn_stale is 1 while the approver has no Top-N set, 0 once a fresh one is published, 1 again for one older than TOPN_MAX_AGE_SEC', async () => {
      await valueOf('approver', 'tsp_topn_stale', {}, 1);
      await valueOf('approver', 'tsp_topn_max_age_seconds', {}, 120);
      const publish = async (ageSec: number) => {
        const set = { tickers: ['AAPL'], top_n: 1, fetched_at: new Date(Date.now() - ageSec * 1000).toISOString(), snapshot_id: randomUUID(), source: 'test' };
        await redis.set(redisKeys(prefix).topn, JSON.stringify(set));
        await redis.publish(redisKeys(prefix).topnUpdated, set.snapshot_id);
      };
      await publish(0);
      await valueOf('approver', 'tsp_topn_stale', {}, 0);
      // Older than TOPN_MAX_AGE_SEC (120): stale, as the approver's decisions judge it.
      await publish(600);
      await valueOf('approver', 'tsp_topn_stale', {}, 1);
    });

    it('tsp_rate_window_starts counts the starts in each window, against tsp_rate_window_cap', async () => {
      await valueOf('forwarder', 'tsp_rate_window_cap', { window: 'minute' }, 7);
      await valueOf('forwarder', 'tsp_rate_window_cap', { window: 'hour' }, 70);
      await valueOf('forwarder', 'tsp_rate_limiting_enabled', {}, 1);
      const log = new StartLog(redis);
      for (let i = 0; i < 3; i++) await log.admit(destinationWindows(prefix, 7, 70));
      await valueOf('forwarder', 'tsp_rate_window_starts', { window: 'minute' }, 3);
      await valueOf('forwarder', 'tsp_rate_window_starts', { window: 'hour' }, 3);
    });

    it('tsp_dead_letters counts the dead signals of this deployment by reason', async () => {
      const baseline = (reason: string) => exposed.find((s) => s.name === 'tsp_dead_letters' && s.labels.reason === reason)!.value;
      const dead = (reason: string) => ({
        id: randomUUID(), kind: 'source', ticker: 'AAPL', side: 'BUY', action: 'buy', time: new Date(), receivedAt: new Date(),
        status: 'dead', reason, body: {}, deployment: deploymentOf(prefix),
      });
      const rows = [dead('attempts_exhausted'), dead('attempts_exhausted'), dead('permanent_error')];
      await prisma.signal.createMany({ data: rows });
      try {
        await valueOf('ingest', 'tsp_dead_letters', { reason: 'attempts_exhausted' }, baseline('attempts_exhausted') + 2);
        await valueOf('ingest', 'tsp_dead_letters', { reason: 'permanent_error' }, baseline('permanent_error') + 1);
      } finally {
        await prisma.signal.deleteMany({ where: { id: { in: rows.map((r) => r.id) } } });
      }
    });

    it('every outcome, reason and basis of the labelled counters is exposed from zero, before anything happened', () => {
      const zero = (service: Service, name: string, label: string, values: string[]) => {
        for (const value of values) expect(exposed.find((s) => s.labels.service === service && s.name === name && s.labels[label] === value)?.value).toBe(0);
      };
      for (const service of ['ingest', 'forwarder'] as const) zero(service, 'tsp_forward_attempts_total', 'outcome', ['delivered', 'retry', 'dead', 'expired']);
      for (const service of ['ingest', 'approver'] as const) {
        zero(service, 'tsp_signals_rejected_total', 'reason', ['not_in_topn', 'topn_stale', 'topn_unavailable', 'no_open_position', 'stale']);
        zero(service, 'tsp_signals_approved_total', 'basis', ['topn', 'open_position', 'manual', 'late_topn']);
      }
      // A gauge of Postgres rows: present for every reason (its value depends on the shared test database's rows).
      for (const reason of ['expired', 'permanent_error', 'attempts_exhausted']) {
        expect(exposed.find((s) => s.labels.service === 'ingest' && s.name === 'tsp_dead_letters' && s.labels.reason === reason)?.value).toBeGreaterThanOrEqual(0);
      }
    });
  });
});

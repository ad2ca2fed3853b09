import uPlot from './vendor/uPlot.esm.js';
import { api, messageOf } from './api.js';
import { $, debounce } from './dom.js';

const OUTCOMES = [
  { status: 'forwarded', label: 'delivered', stroke: '#1a7f37' },
  { status: 'approved', label: 'approved (waiting)', stroke: '#2457c5' },
  { status: 'retrying', label: 'retrying', stroke: '#a15c00' },
  { status: 'rejected', label: 'rejected', stroke: '#8a8f98' },
  { status: 'dead', label: 'dead', stroke: '#b42318' },
];
/** The live feed's changes redraw the charts from Postgres at most this often. */
const LIVE_REDRAW_MS = 5000;

/**
 * Charts (uPlot, served from its npm package): signals per minute by outcome, delivery latency
 * p50/p99, and destination requests per minute against the cap. History from Postgres
 * (GET /admin/stats/signals); while the panel is open, the live feed's changes redraw it.
 */
export class ChartsPanel {
  constructor() {
    this.plots = {};
    this.visible = false;
    this.redraw = debounce(() => this.load(), LIVE_REDRAW_MS);
    $('#chart-range').addEventListener('change', () => this.load());
  }

  start() {
    this.visible = true;
    this.load();
    window.addEventListener('hashchange', () => {
      this.visible = location.hash === '#charts';
    });
  }

  onChanges() {
    if (this.visible) this.redraw();
  }

  async load() {
    const minutes = Number(new FormData($('#chart-range')).get('minutes'));
    const [stats, status] = await Promise.all([api(`/admin/stats/signals?minutes=${minutes}`), api('/status')]);
    const message = $('#chart-message');
    if (!stats.ok) {
      message.textContent = messageOf(stats);
      return;
    }
    const from = Date.parse(stats.body.from) / 1000;
    const count = Math.round((Date.parse(stats.body.to) / 1000 - from) / 60);
    // Every minute of the range, empty ones included, so the lines drop to zero between bursts.
    const xs = Array.from({ length: count }, (_, i) => from + i * 60);
    const byMinute = new Map(stats.body.minutes.map((m) => [Date.parse(m.at) / 1000, m]));
    const at = (fn, empty = 0) => xs.map((x) => (byMinute.has(x) ? fn(byMinute.get(x)) : empty));
    const cap = status.ok && status.body.rate_limiter.enabled ? status.body.rate_limiter.max_per_min : null;
    this.draw('outcomes', [xs, ...OUTCOMES.map((o) => at((m) => m.outcomes[o.status] ?? 0))], OUTCOMES.map((o) => ({ label: o.label, stroke: o.stroke })));
    this.draw('latency', [xs, at((m) => m.latency_p50_ms, null), at((m) => m.latency_p99_ms, null)], [
      { label: 'p50 ms', stroke: '#2457c5' }, { label: 'p99 ms', stroke: '#b42318' },
    ]);
    this.draw('cap', [xs, at((m) => m.attempts), xs.map(() => cap)], [
      { label: 'requests/min', stroke: '#1d2330', fill: 'rgba(36,87,197,.12)' }, { label: cap ? `cap ${cap}/min` : 'no cap', stroke: '#b42318', dash: [6, 4] },
    ]);
    const total = stats.body.minutes.reduce((sum, m) => sum + Object.values(m.outcomes).reduce((a, b) => a + b, 0), 0);
    message.textContent = `${total} signals in the last ${minutes} minutes · updated ${new Date().toLocaleTimeString([], { hour12: false })}`;
  }

  draw(name, data, series) {
    const host = $(`#chart-${name}`);
    const width = Math.max(320, host.clientWidth - 30);
    this.plots[name]?.destroy();
    this.plots[name] = new uPlot({
      width, height: 220,
      // Latency has gaps (minutes without attempts), so its values are drawn as points too.
      series: [{}, ...series.map((s) => ({ width: 2, points: { show: name === 'latency' }, ...s }))],
      axes: [{}, { size: 50 }],
      scales: { x: { time: true } },
    }, data, host);
  }
}

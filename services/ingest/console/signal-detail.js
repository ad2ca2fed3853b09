import { api, messageOf } from './api.js';
import { debounce, fill, h, statusBadge, when } from './dom.js';

/**
 * One signal's whole life (GET /signals/:id): the body as received, the decision and its basis,
 * the Top-N set it was judged on with its own ticker marked, every delivery attempt. Refreshed
 * when the live feed says the signal changed.
 */
export class SignalDetail {
  constructor(panel, body) {
    this.panel = panel;
    this.body = body;
    this.id = null;
    this.refreshSoon = debounce(() => this.id && this.show(this.id), 300);
  }

  hide() {
    this.id = null;
    this.panel.hidden = true;
  }

  async show(id) {
    this.id = id;
    this.panel.hidden = false;
    const result = await api(`/signals/${encodeURIComponent(id)}`);
    if (this.id !== id) return;
    if (!result.ok) {
      fill(this.body, h('p', { class: 'message error' }, messageOf(result)));
      return;
    }
    const s = result.body;
    const fields = [
      ['id', s.id], ['kind', s.kind === 'manual' ? 'manual exit' : 'source signal'], ['price', s.price ?? '—'], ['time', when(s.time)],
      ['received', when(s.received_at)], ['decision', s.reason ? `rejected: ${s.reason}` : s.basis ? `approved (${s.basis})` : 'not decided yet'],
      ['rank', s.rank ?? '—'], ['snapshot', s.snapshot_id ?? '—'],
    ];
    fill(this.body,
      h('h2', { id: 'detail-title' }, `${s.ticker} ${s.side} `, statusBadge(s.status), s.reason && s.status === 'dead' ? ` (${s.reason})` : ''),
      h('dl', {}, fields.flatMap(([name, value]) => [h('dt', {}, name), h('dd', {}, String(value))])),
      h('h3', {}, 'Received body'),
      s.received_body ? h('pre', { id: 'detail-received-body' }, JSON.stringify(s.received_body, null, 2)) : h('p', { class: 'muted' }, 'none (a manual exit, or recorded before tsp kept bodies)'),
      h('h3', {}, 'Top-N set it was judged on'),
      snapshotView(s),
      h('h3', {}, `Delivery attempts (${s.deliveries.length})`),
      deliveriesView(s.deliveries),
    );
  }
}

function snapshotView(s) {
  if (!s.snapshot) return h('p', { class: 'muted' }, 'none (judged without a set, or the set is no longer stored)');
  const { snapshot } = s;
  return h('div', { id: 'detail-snapshot' },
    h('p', { class: 'muted' }, `top ${snapshot.top_n} from ${snapshot.source}, fetched ${when(snapshot.fetched_at)}`),
    h('ol', {}, snapshot.tickers.map((t) => h('li', { class: t.is_signal_ticker ? 'hit' : undefined, value: t.rank }, t.ticker, t.is_signal_ticker ? ' ◀ this signal' : ''))),
  );
}

function deliveriesView(deliveries) {
  if (!deliveries.length) return h('p', { class: 'muted' }, 'none');
  return h('table', { class: 'grid', id: 'detail-deliveries' },
    h('thead', {}, h('tr', {}, ['#', 'at', 'HTTP', 'latency', 'error'].map((name) => h('th', {}, name)))),
    h('tbody', {}, deliveries.map((d) => h('tr', {},
      h('td', {}, d.attempt), h('td', {}, when(d.at)), h('td', {}, d.http_status ?? 'no answer'), h('td', {}, `${d.latency_ms} ms`), h('td', {}, d.error ?? ''),
    ))),
  );
}

import { api, query } from './api.js';
import { $, fill, h, isoOfLocal, showFieldErrors, statusBadge, when } from './dom.js';
import { SignalDetail } from './signal-detail.js';

const PAGE_SIZE = 50;
/** Rows kept on the first page as new signals arrive live (older ones drop off; paging finds them). */
const MAX_LIVE_ROWS = 300;

/** The ticker as the relay writes it, near enough to match live changes: `nasdaq:brk.b` → `BRK-B`. */
function tickerKey(raw) {
  const upper = raw.trim().toUpperCase();
  return upper.slice(upper.lastIndexOf(':') + 1).replace(/[./]/g, '-');
}

/**
 * The signal list: search (filters, cursor paging) over GET /signals, and on the newest page the
 * live feed's changes applied in place: a new signal appears at the top, a known one changes its
 * status. `queued` never replaces another status (acceptances and decisions are announced by
 * different processes, so a decision may arrive first).
 */
export class SignalsPanel {
  constructor() {
    this.form = $('#signal-filters');
    this.body = $('#signals-table tbody');
    this.rows = new Map();
    this.filters = {};
    this.cursors = [null];
    this.page = 0;
    this.nextCursor = null;
    /** Changes that came while the list was loading; applied once it is in. */
    this.pending = [];
    this.loading = false;
    this.detail = new SignalDetail($('#signal-detail'), $('#detail-body'));
    $('#detail-close').addEventListener('click', () => this.closeDetail());
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.search();
    });
    $('#filters-clear').addEventListener('click', () => {
      this.form.reset();
      this.search();
    });
    $('#page-older').addEventListener('click', () => this.turn(1));
    $('#page-newer').addEventListener('click', () => this.turn(-1));
  }

  search() {
    const data = new FormData(this.form);
    this.filters = {
      ticker: data.get('ticker').trim(), side: data.get('side'), status: data.get('status'), reason: data.get('reason'), kind: data.get('kind'),
      from: isoOfLocal(data.get('from')), to: isoOfLocal(data.get('to')),
    };
    this.cursors = [null];
    this.page = 0;
    return this.load();
  }

  turn(step) {
    if (step > 0 && !this.nextCursor) return;
    if (step > 0) this.cursors[this.page + 1] = this.nextCursor;
    this.page = Math.max(0, this.page + step);
    return this.load();
  }

  /** Loads the current page; changes arriving meanwhile wait and are applied after. */
  async load() {
    this.loading = true;
    const result = await api(`/signals${query({ ...this.filters, limit: PAGE_SIZE, cursor: this.cursors[this.page] })}`);
    this.loading = false;
    showFieldErrors(this.form, $('#filter-errors'), result);
    if (!result.ok) {
      this.pending = [];
      return;
    }
    this.rows.clear();
    this.body.replaceChildren();
    for (const view of result.body.items) this.addRow(view, false);
    this.nextCursor = result.body.next_cursor;
    $('#page-older').disabled = !this.nextCursor;
    $('#page-newer').disabled = this.page === 0;
    $('#page-number').textContent = `page ${this.page + 1}`;
    this.summarise();
    const pending = this.pending;
    this.pending = [];
    this.apply(pending);
  }

  summarise() {
    const live = this.page === 0 && !this.filters.to;
    $('#signals-summary').textContent = `${this.rows.size} shown${live ? ' · new signals appear live' : ' · live updates change shown rows only'}`;
  }

  /** Live changes from the feed. */
  apply(changes) {
    if (this.loading) {
      this.pending.push(...changes);
      return;
    }
    for (const change of changes) {
      const row = this.rows.get(change.id);
      if (row) this.update(row, change);
      else if (this.acceptsNew(change)) this.addRow(viewOfChange(change), true);
      if (this.detail.id === change.id) this.detail.refreshSoon();
    }
    while (this.rows.size > MAX_LIVE_ROWS) {
      const last = this.body.lastElementChild;
      this.rows.delete(last.dataset.id);
      last.remove();
    }
    this.summarise();
  }

  /** Whether a signal not shown belongs at the top of this list. */
  acceptsNew(change) {
    const f = this.filters;
    if (this.page !== 0 || !change.ticker || !change.received_at) return false;
    if (f.ticker && tickerKey(f.ticker) !== change.ticker) return false;
    if (f.side && f.side !== change.side) return false;
    if (f.kind && f.kind !== change.kind) return false;
    if (f.status && f.status !== change.status) return false;
    if (f.reason && f.reason !== change.reason) return false;
    if (f.from && change.received_at < f.from) return false;
    if (f.to && change.received_at > f.to) return false;
    return true;
  }

  addRow(view, live) {
    const tr = h('tr', { dataset: { id: view.id }, onclick: () => this.openDetail(view.id, tr) });
    const row = { view, tr };
    this.rows.set(view.id, row);
    render(row);
    if (live) {
      // Newest first by the time the relay received it (a queued change may come after a decision's).
      let before = this.body.firstElementChild;
      while (before && this.rows.get(before.dataset.id)?.view.received_at > view.received_at) before = before.nextElementSibling;
      this.body.insertBefore(tr, before);
      flash(tr);
    } else {
      this.body.append(tr);
    }
  }

  update(row, change) {
    const view = row.view;
    if (change.status !== 'queued' || view.status === 'queued') view.status = change.status;
    for (const field of ['ticker', 'side', 'kind', 'price', 'received_at', 'reason', 'basis', 'rank']) {
      if (change[field] !== undefined && change.status !== 'queued') view[field] = change[field];
    }
    if (change.attempt !== undefined) view.lastAttempt = { attempt: change.attempt, http_status: change.http_status, latency_ms: change.latency_ms, error: change.error };
    render(row);
    flash(row.tr);
  }

  async openDetail(id, tr) {
    for (const selected of this.body.querySelectorAll('tr.selected')) selected.classList.remove('selected');
    tr.classList.add('selected');
    await this.detail.show(id);
  }

  closeDetail() {
    for (const selected of this.body.querySelectorAll('tr.selected')) selected.classList.remove('selected');
    this.detail.hide();
  }
}

function viewOfChange(change) {
  return {
    id: change.id, ticker: change.ticker, side: change.side, kind: change.kind, price: change.price ?? null, received_at: change.received_at,
    status: change.status, reason: change.reason ?? null, basis: change.basis ?? null, rank: change.rank ?? null,
    lastAttempt: change.attempt !== undefined ? { attempt: change.attempt, http_status: change.http_status, latency_ms: change.latency_ms, error: change.error } : null,
  };
}

function lastAttemptOf(view) {
  if (view.lastAttempt) return view.lastAttempt;
  const deliveries = view.deliveries ?? [];
  return deliveries[deliveries.length - 1] ?? null;
}

function render({ view, tr }) {
  const attempt = lastAttemptOf(view);
  tr.dataset.status = view.status;
  tr.dataset.ticker = view.ticker ?? '';
  fill(tr,
    h('td', {}, when(view.received_at)),
    h('td', { class: 'ticker' }, view.ticker ?? '?'),
    h('td', {}, view.side ?? ''),
    h('td', {}, view.kind === 'manual' ? 'manual' : 'signal'),
    h('td', {}, view.price ?? ''),
    h('td', {}, statusBadge(view.status)),
    h('td', {}, view.reason ?? view.basis ?? ''),
    h('td', {}, view.rank ?? ''),
    h('td', { class: 'muted' }, attempt ? `#${attempt.attempt} ${attempt.http_status ?? 'no answer'} · ${attempt.latency_ms} ms${attempt.error ? ` · ${attempt.error}` : ''}` : ''),
  );
}

function flash(tr) {
  tr.classList.remove('changed');
  // Restarts the animation.
  void tr.offsetWidth;
  tr.classList.add('changed');
}

import { api, messageOf, query } from './api.js';
import { confirmAction } from './confirm.js';
import { $, fill, h, showFieldErrors, when } from './dom.js';

/**
 * The Top-N set (ranked, its age and freshness), the screener config in force (URL credentials
 * redacted by the relay) with a form that goes through POST /finviz/config's own validation, and
 * the history of the set: who entered and who left, when.
 */
export class TopnPanel {
  constructor() {
    this.form = $('#config-form');
    this.config = null;
    this.historyCursor = null;
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.save();
    });
    $('#history-older').addEventListener('click', () => this.loadHistory(true));
  }

  start() {
    this.loadTopn();
    this.loadConfig();
    this.loadHistory(false);
    // Polled only while the tab is shown: the set's age ticks on.
    setInterval(() => !$('#panel-topn').hidden && this.loadTopn(), 2000);
  }

  async loadTopn() {
    const result = await api('/finviz/topn');
    const fresh = $('#topn-fresh');
    if (!result.ok) {
      fresh.textContent = 'none';
      fresh.classList.add('stale');
      $('#topn-meta').textContent = messageOf(result);
      return;
    }
    const t = result.body;
    fresh.textContent = t.stale ? 'STALE' : 'fresh';
    fresh.classList.toggle('stale', t.stale);
    $('#topn-meta').textContent = `${t.tickers.length} tickers (top_n ${t.top_n}) · fetched ${when(t.fetched_at)}, ${t.age_sec} s ago · snapshot ${t.snapshot_id}`;
    const list = $('#topn-list');
    if (list.dataset.snapshot !== t.snapshot_id) {
      list.dataset.snapshot = t.snapshot_id;
      list.dataset.topN = String(t.top_n);
      fill(list, t.tickers.map((ticker) => h('li', {}, ticker)));
      if (this.lastSnapshot && this.lastSnapshot !== t.snapshot_id) this.loadHistory(false);
      this.lastSnapshot = t.snapshot_id;
    }
  }

  async loadConfig() {
    const result = await api('/finviz/config');
    if (!result.ok) {
      $('#config-meta').textContent = messageOf(result);
      return;
    }
    const c = (this.config = result.body);
    $('#config-meta').textContent = `Source: ${c.url ?? '(no URL)'} · from the ${c.source}${c.version ? ` (version ${c.version}, ${when(c.updated_at)} by ${c.updated_by})` : ''}${c.elite ? ' · Elite' : ''}`;
    this.form.elements.url.value = c.url ?? '';
    this.form.elements.top_n.value = c.top_n;
    this.form.elements.refresh.value = c.refresh;
  }

  /** Sends only what changed; the relay's answer (or its errors, beside each field) is shown in place. */
  async save() {
    const els = this.form.elements;
    const change = {};
    if (els.url.value.trim() !== (this.config?.url ?? '')) change.url = els.url.value.trim();
    if (els.top_n.value !== String(this.config?.top_n ?? '')) change.top_n = els.top_n.value === '' ? null : Number(els.top_n.value);
    if (els.refresh.value !== String(this.config?.refresh ?? '')) change.refresh = els.refresh.value === '' ? null : Number(els.refresh.value);
    const message = $('#config-message');
    if (!Object.keys(change).length) {
      message.textContent = 'Nothing changed.';
      return;
    }
    const text = Object.entries(change).map(([name, value]) => `${name} → ${value}`).join(', ');
    if (!(await confirmAction('Change the screener config?', `${text}. Every screener replica applies it within 2 s; the Top-N set, and so the approvals, follow.`, { confirmLabel: 'Save' }))) return;
    const result = await api('/finviz/config', { method: 'POST', body: change });
    showFieldErrors(this.form, message, result);
    message.classList.toggle('error', !result.ok);
    if (!result.ok) return;
    message.textContent = `Saved (version ${result.body.version}); waiting for the new set…`;
    await this.loadConfig();
    this.awaitSet(result.body.top_n);
  }

  /** Polls until the published set is of the new size (or 20 s pass). */
  async awaitSet(topN) {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      await this.loadTopn();
      if ($('#topn-list').dataset.topN === String(topN)) {
        $('#config-message').textContent = `Saved; the new set (top ${topN}) is in force.`;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    $('#config-message').textContent = 'Saved; the screener has not published a set of the new size yet (see the Top-N set above).';
  }

  async loadHistory(older) {
    const result = await api(`/finviz/topn/history${query({ limit: 50, cursor: older ? this.historyCursor : undefined })}`);
    if (!result.ok) return;
    const items = result.body.items;
    const body = $('#topn-history tbody');
    if (!older) {
      body.replaceChildren();
      this.pendingRow = null;
    }
    // The last row of the previous page is compared with the first set of this one, known only now.
    if (this.pendingRow && items[0]) this.pendingRow.fill(items[0]);
    this.pendingRow = null;
    for (const [i, set] of items.entries()) {
      const row = historyRow(set);
      body.append(row.tr);
      if (items[i + 1]) row.fill(items[i + 1]);
      else if (result.body.next_cursor) this.pendingRow = row;
      else row.fill(null);
    }
    this.historyCursor = result.body.next_cursor;
    $('#history-older').hidden = !this.historyCursor;
  }
}

/** A row of the history; `fill(previous)` says who entered and who left since the set before it (null: the first set). */
function historyRow(set) {
  const entered = h('td', { class: 'entered' });
  const left = h('td', { class: 'left' });
  const tr = h('tr', {}, h('td', {}, when(set.fetched_at)), h('td', {}, set.top_n), entered, left, h('td', { class: 'muted' }, set.tickers.join(' ')));
  return {
    tr,
    fill(previous) {
      const came = previous ? set.tickers.filter((t) => !previous.tickers.includes(t)) : set.tickers;
      const went = previous ? previous.tickers.filter((t) => !set.tickers.includes(t)) : [];
      entered.textContent = came.length ? `+ ${came.join(', ')}` : '';
      left.textContent = went.length ? `− ${went.join(', ')}` : '';
    },
  };
}

import { api, messageOf } from './api.js';
import { confirmAction } from './confirm.js';
import { $, debounce, fill, h, showFieldErrors, when } from './dom.js';

const STATES = ['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'];

/**
 * Operations: the queues and workers (/status), the rate cap and its use now, delivery and
 * screener pause, a screener refresh, dead letters with replay, open positions with exits and
 * corrections. Every change asks first.
 */
export class OperationsPanel {
  constructor() {
    this.refreshLists = debounce(() => {
      this.loadDead();
      this.loadPositions();
    }, 500);
    $('#delivery-pause').addEventListener('click', () => this.act('Pause delivery?', 'No forwarder replica will start a delivery until resumed; approved signals wait (and entries may expire).', '/admin/delivery/pause'));
    $('#delivery-resume').addEventListener('click', () => this.act('Resume delivery?', 'Forwarders start delivering the waiting signals at once, within the rate cap.', '/admin/delivery/resume'));
    $('#screener-pause').addEventListener('click', () => this.pauseScreener());
    $('#screener-refresh').addEventListener('click', () => this.refreshScreener());
    $('#screener-resume').addEventListener('click', () => this.act('Resume the screener?', 'Every screener replica fetches Finviz again as soon as its pace allows.', '/admin/screener/resume'));
    $('#replay-all').addEventListener('click', () => this.replayAll());
    $('#exit-all').addEventListener('click', () => this.exitAll());
    $('#open-position').addEventListener('submit', (event) => {
      event.preventDefault();
      this.openPosition();
    });
  }

  start() {
    this.loadStatus();
    this.loadDead();
    this.loadPositions();
    // Polled only while the tab is shown (/status is computed at most once a second, whoever asks).
    setInterval(() => !$('#panel-operations').hidden && this.loadStatus(), 2000);
  }

  /** The feed says a delivery ended: dead letters and positions may have changed. */
  onChanges(changes) {
    if (changes.some((c) => c.status === 'dead' || c.status === 'forwarded' || c.status === 'approved')) this.refreshLists();
  }

  async act(title, text, path, body) {
    if (!(await confirmAction(title, text))) return null;
    const result = await api(path, { method: 'POST', body });
    if (!result.ok) $('#relay-state').textContent = messageOf(result);
    await this.loadStatus();
    return result;
  }

  async pauseScreener() {
    const reason = await confirmAction('Pause the screener?', 'No replica scrapes Finviz until resumed: the Top-N set ages, and BUYs are rejected topn_stale once it is stale.', { confirmLabel: 'Pause', input: { label: 'Reason (optional)', value: '' } });
    if (reason === false) return;
    const result = await api('/admin/screener/pause', { method: 'POST', body: reason.trim() ? { reason: reason.trim() } : {} });
    if (!result.ok) $('#screener-state').textContent = messageOf(result);
    await this.loadStatus();
  }

  /** Asks the leading screener to scrape now; the new set reaches the Top-N tab when published, the outcome shows here. */
  async refreshScreener() {
    if (!(await confirmAction('Refresh the Top-N now?', 'The leading screener replica scrapes Finviz at once instead of at its next tick; the new set shows in the Top-N tab as soon as it is published.', { confirmLabel: 'Refresh' }))) return;
    const result = await api('/admin/screener/refresh', { method: 'POST', body: {} });
    this.requested = result.ok ? { id: result.body.id, expiresAt: Date.parse(result.body.expires_at) } : null;
    this.tell($('#screener-refresh-state'), result.ok ? 'requested' : 'refused', result.ok ? `Refresh requested at ${when(result.body.requested_at)}; waiting for the screener…` : messageOf(result));
    await this.loadStatus();
  }

  /** How the refresh asked for here went (or the last one anyone asked for, kept an hour). */
  showRefresh({ last_refresh: last }) {
    const message = $('#screener-refresh-state');
    if (this.requested && last?.id !== this.requested.id) {
      // Not served yet; it can only lapse once it expires unserved (no screener running, none leading).
      if (Date.now() > this.requested.expiresAt + 2000) {
        this.requested = null;
        this.tell(message, 'lapsed', 'No screener took the refresh request in time: is one running?');
      }
      return;
    }
    if (!last || message.dataset.outcome === 'refused') return;
    this.requested = null;
    const result = last.changed ? 'a new set was published' : last.published ? 'the set is unchanged' : 'nothing was published';
    this.tell(message, last.outcome, `Refresh asked for at ${when(last.requested_at)}: ${last.outcome} at ${when(last.done_at)}, ${result}.`);
  }

  tell(message, outcome, text) {
    message.classList.toggle('error', !['requested', 'ok'].includes(outcome));
    message.textContent = text;
    message.dataset.outcome = outcome;
  }

  /** Starts in the sliding minute and hour against the cap (what the forwarders count, every replica together). */
  async loadCapUse() {
    const result = await api('/admin/delivery/cap-use');
    if (!result.ok) return;
    const { enabled, minute, hour } = result.body;
    const el = $('#cap-use');
    el.textContent = `Cap use: ${minute.used} of ${minute.cap} in the last ${minute.window_sec} s, ${hour.used} of ${hour.cap} in the last ${hour.window_sec} s${enabled ? '' : ' (limiting is off: starts are not counted)'}`;
    el.dataset.minute = String(minute.used);
    el.dataset.hour = String(hour.used);
    el.classList.toggle('error', enabled && (minute.used >= minute.cap || hour.used >= hour.cap));
  }

  async loadStatus() {
    this.loadCapUse();
    const result = await api('/status');
    if (!result.ok) return;
    const s = result.body;
    fill($('#queue-table'),
      h('thead', {}, h('tr', {}, h('th', {}, 'queue'), STATES.map((state) => h('th', {}, state)))),
      h('tbody', {}, Object.entries(s.queues).map(([name, counts]) => h('tr', { dataset: { queue: name } }, h('td', {}, name), STATES.map((state) => h('td', {}, counts[state] ?? 0))))),
    );
    $('#workers').textContent = `Workers: ${s.workers.approver} approver, ${s.workers.forwarder} forwarder`;
    const paused = s.delivery_paused;
    const delivery = $('#delivery-state');
    delivery.textContent = paused ? 'Delivery is PAUSED' : 'Delivery runs';
    delivery.dataset.paused = String(paused);
    $('#delivery-pause').disabled = paused;
    $('#delivery-resume').disabled = !paused;
    const l = s.rate_limiter;
    $('#rate-state').textContent = (l.enabled ? `Cap ${l.max_per_min}/min and ${l.max_per_hour}/hour` : 'No rate limit')
      + ` · ${l.backlog} deliveries pending · next may start ${when(l.next_start_at)}${l.clears_at ? ` · backlog clears ${when(l.clears_at)}` : ''}`;
    const screener = s.screener ?? { paused: false };
    const screenerState = $('#screener-state');
    screenerState.textContent = screener.paused ? `PAUSED since ${when(screener.paused_at)} by ${screener.by}${screener.reason ? ` (${screener.reason})` : ''}` : 'Scraping';
    screenerState.dataset.paused = String(Boolean(screener.paused));
    $('#screener-pause').disabled = Boolean(screener.paused);
    $('#screener-resume').disabled = !screener.paused;
    $('#screener-refresh').disabled = Boolean(screener.paused);
    this.showRefresh(screener);
    const c = s.counters;
    $('#relay-state').textContent = `Received ${c.received}, approved ${c.approved}, rejected ${c.rejected}, delivered ${c.forwarded}, dead ${c.dead}`
      + ` · ${s.signals_per_minute ?? 0}/min · approval ${s.approval_rate_percent ?? '—'} % · delivery success ${s.forward_success_rate_percent ?? '—'} %`
      + ` · audit outbox ${s.audit_outbox}/${s.audit_outbox_max}`
      + (s.topn ? ` · Top-N ${s.topn.count} tickers, ${s.topn.age_sec} s old${s.topn.stale ? ' (STALE)' : ''}` : ' · no Top-N set');
  }

  async loadDead() {
    const result = await api('/admin/dead?limit=100');
    if (!result.ok) return;
    fill($('#dead-table tbody'), result.body.items.map((s) => {
      const last = s.deliveries[s.deliveries.length - 1];
      const button = h('button', { type: 'button', onclick: () => this.replay(s, false) }, 'Replay');
      return h('tr', { dataset: { id: s.id } },
        h('td', {}, when(s.received_at)), h('td', {}, s.ticker), h('td', {}, s.side), h('td', {}, s.reason ?? ''),
        h('td', {}, last ? `${last.http_status ?? 'no answer'} ${last.error ?? ''}` : ''), h('td', {}, button));
    }));
  }

  async replay(signal, force) {
    const text = force ? 'Replay it anyway?' : `Send ${signal.side} ${signal.ticker} (received ${when(signal.received_at)}) to the destination again, with the same Idempotency-Key?`;
    if (!force && !(await confirmAction('Replay this dead delivery?', text, { confirmLabel: 'Replay' }))) return;
    const result = await api(`/admin/dead/${encodeURIComponent(signal.id)}/replay`, { method: 'POST', body: force ? { force: true } : {} });
    const message = $('#dead-message');
    message.classList.toggle('error', !result.ok);
    if (result.status === 409 && !force && (result.body.error === 'past_ttl' || result.body.error === 'out_of_order')) {
      if (await confirmAction('Replay anyway?', result.body.message, { confirmLabel: 'Replay anyway' })) return this.replay(signal, true);
      message.textContent = 'Not replayed.';
      return;
    }
    message.textContent = result.ok ? `Replayed ${signal.ticker} ${signal.side}: queued for delivery again.` : messageOf(result);
    await this.loadDead();
  }

  async replayAll() {
    if (!(await confirmAction('Replay every dead delivery?', 'Oldest first, except expired entries and any that would reach the broker out of order.', { confirmLabel: 'Replay all' }))) return;
    const result = await api('/admin/dead/replay-all', { method: 'POST' });
    const message = $('#dead-message');
    message.classList.toggle('error', !result.ok);
    message.textContent = result.ok ? `Replayed ${result.body.ids.length}; skipped ${result.body.skipped.length}${result.body.more ? '; more remain' : ''}.` : messageOf(result);
    await this.loadDead();
  }

  async loadPositions() {
    const result = await api('/positions');
    if (!result.ok) return;
    fill($('#positions-table tbody'), result.body.map((p) => h('tr', { dataset: { ticker: p.ticker } },
      h('td', {}, p.ticker), h('td', {}, when(p.opened_at)), h('td', {}, p.last_price ?? ''),
      h('td', {},
        h('button', { type: 'button', class: 'danger', onclick: () => this.exit(p.ticker) }, 'Exit'), ' ',
        h('button', { type: 'button', onclick: () => this.closeWithoutTrade(p.ticker) }, 'Close without trade')),
    )));
  }

  async exit(ticker) {
    if (!(await confirmAction(`Exit ${ticker}?`, `Sends one SELL (action exit) for ${ticker} to the destination, past the Top-N filter, within the rate cap.`, { confirmLabel: 'Exit' }))) return;
    this.report(await api('/sell/individual', { method: 'POST', body: { ticker } }), (b) => `Exit of ${b.tickers.join(', ')} queued.`);
  }

  async exitAll() {
    if (!(await confirmAction('Exit every open position?', 'Sends one SELL for every open position to the destination.', { confirmLabel: 'Exit all' }))) return;
    this.report(await api('/sell/all', { method: 'POST', body: {} }), (b) => (b.tickers.length ? `Exits queued: ${b.tickers.join(', ')}.` : 'No open positions.'));
  }

  async closeWithoutTrade(ticker) {
    if (!(await confirmAction(`Close ${ticker} without a trade?`, 'Only tsp\'s book changes (the broker closed it already); nothing is sent. SELLs of it are then refused.', { confirmLabel: 'Close' }))) return;
    this.report(await api(`/positions/${encodeURIComponent(ticker)}/close`, { method: 'POST' }), () => `${ticker} closed in tsp's book.`);
  }

  async openPosition() {
    const form = $('#open-position');
    const data = new FormData(form);
    const ticker = data.get('ticker').trim();
    const price = data.get('price').trim();
    const body = price ? { price: Number(price) } : {};
    if (!(await confirmAction(`Open ${ticker} without a trade?`, 'Only tsp\'s book changes (the broker holds it already); nothing is sent. SELLs of it then pass.', { confirmLabel: 'Open' }))) return;
    const result = await api(`/positions/${encodeURIComponent(ticker)}/open`, { method: 'POST', body });
    showFieldErrors(form, $('#open-position-errors'), result);
    if (result.ok) form.reset();
    this.report(result, (b) => `${b.ticker} opened in tsp's book.`);
  }

  report(result, success) {
    const message = $('#positions-message');
    message.classList.toggle('error', !result.ok);
    message.textContent = result.ok ? success(result.body) : messageOf(result);
    this.loadPositions();
  }
}

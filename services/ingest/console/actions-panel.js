import { api, query } from './api.js';
import { $, h, isoOfLocal, showFieldErrors, when } from './dom.js';

/** The admin-action log (GET /admin/actions): who changed what, filterable by action and time. */
export class ActionsPanel {
  constructor() {
    this.form = $('#action-filters');
    this.cursor = null;
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.load(false);
    });
    $('#actions-older').addEventListener('click', () => this.load(true));
  }

  start() {
    this.load(false);
  }

  async load(older) {
    const data = new FormData(this.form);
    const filters = { action: data.get('action').trim(), from: isoOfLocal(data.get('from')), to: isoOfLocal(data.get('to')) };
    const result = await api(`/admin/actions${query({ ...filters, limit: 50, cursor: older ? this.cursor : undefined })}`);
    showFieldErrors(this.form, $('#action-errors'), result);
    if (!result.ok) return;
    const body = $('#action-table tbody');
    if (!older) body.replaceChildren();
    for (const a of result.body.items) {
      body.append(h('tr', { dataset: { action: a.action } },
        h('td', {}, when(a.at)), h('td', {}, a.action), h('td', {}, a.target ?? ''), h('td', {}, `${a.principal} (${a.token_kind})`),
        h('td', {}, a.address ?? ''), h('td', {}, `${a.outcome}${a.http_status ? ` ${a.http_status}` : ''}`),
        h('td', { class: 'muted' }, `${short(a.before)} → ${short(a.after)}`),
      ));
    }
    this.cursor = result.body.next_cursor;
    $('#actions-older').hidden = !this.cursor;
  }
}

function short(value) {
  if (value === null || value === undefined) return '—';
  const text = JSON.stringify(value);
  return text.length > 160 ? `${text.slice(0, 160)}…` : text;
}

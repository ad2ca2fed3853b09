import { api, messageOf } from './api.js';
import { confirmAction } from './confirm.js';
import { $, fill, h, showFieldErrors } from './dom.js';

/**
 * Strategies (named screener configs, /strategies): list, create, edit, duplicate, activate,
 * delete. Activating one changes the screener config for every replica within 2 s.
 */
export class StrategiesPanel {
  constructor({ onActivated }) {
    this.onActivated = onActivated;
    this.form = $('#strategy-form');
    this.strategies = [];
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.save();
    });
    $('#strategy-new').addEventListener('click', () => this.edit(null));
  }

  start() {
    this.load();
  }

  async load() {
    const result = await api('/strategies');
    if (!result.ok) {
      this.say(result);
      return;
    }
    this.strategies = result.body.items;
    fill($('#strategy-table tbody'), this.strategies.map((s) => h('tr', { dataset: { id: s.id, name: s.name } },
      h('td', {}, s.name), h('td', { class: 'muted' }, s.url), h('td', {}, s.top_n), h('td', {}, `${s.refresh} s`),
      h('td', {}, s.active ? h('strong', {}, 'active') : h('button', { type: 'button', onclick: () => this.activate(s) }, 'Activate')),
      h('td', {},
        h('button', { type: 'button', onclick: () => this.edit(s) }, 'Edit'), ' ',
        h('button', { type: 'button', onclick: () => this.duplicate(s) }, 'Duplicate'), ' ',
        s.active ? '' : h('button', { type: 'button', class: 'danger', onclick: () => this.remove(s) }, 'Delete')),
    )));
  }

  edit(strategy) {
    const els = this.form.elements;
    showFieldErrors(this.form, null, null);
    $('#strategy-form-title').textContent = strategy ? `Edit “${strategy.name}”` : 'New strategy';
    els.id.value = strategy?.id ?? '';
    els.name.value = strategy?.name ?? '';
    els.url.value = strategy?.url ?? '';
    els.top_n.value = strategy?.top_n ?? '';
    els.refresh.value = strategy?.refresh ?? '';
    els.name.focus();
  }

  async save() {
    const els = this.form.elements;
    const id = els.id.value;
    const current = this.strategies.find((s) => s.id === id);
    const fields = { name: els.name.value.trim(), url: els.url.value.trim(), top_n: numberOrNull(els.top_n.value), refresh: numberOrNull(els.refresh.value) };
    // An edit sends what changed (a masked URL left as shown keeps its credentials).
    const body = Object.fromEntries(Object.entries(fields).filter(([name, value]) => (current ? value !== current[name] : value !== null && value !== '')));
    const what = current ? `Change “${current.name}”${current.active ? ' (the active strategy: the screener follows within 2 s)' : ''}?` : `Create “${fields.name}”?`;
    if (!(await confirmAction(current ? 'Save the strategy?' : 'Create the strategy?', what, { confirmLabel: 'Save' }))) return;
    const result = await api(current ? `/strategies/${id}` : '/strategies', { method: current ? 'PUT' : 'POST', body });
    showFieldErrors(this.form, $('#strategy-message'), result);
    if (!result.ok) return;
    this.say(result, `Saved “${result.body.name}”.`);
    this.edit(null);
    await this.load();
    if (result.body.active) this.onActivated();
  }

  async duplicate(strategy) {
    const name = await confirmAction('Duplicate the strategy?', `A copy of “${strategy.name}”, not active.`, { confirmLabel: 'Duplicate', input: { label: 'Name of the copy', value: `${strategy.name} (copy)` } });
    if (name === false) return;
    this.say(await api(`/strategies/${strategy.id}/duplicate`, { method: 'POST', body: { name } }), 'Duplicated.');
    await this.load();
  }

  async activate(strategy) {
    if (!(await confirmAction(`Activate “${strategy.name}”?`, 'It becomes the screener config for every replica within 2 s; the Top-N set, and so the approvals, follow it.', { confirmLabel: 'Activate' }))) return;
    const result = await api(`/strategies/${strategy.id}/activate`, { method: 'POST' });
    this.say(result, `“${strategy.name}” is active.`);
    await this.load();
    if (result.ok) this.onActivated();
  }

  async remove(strategy) {
    if (!(await confirmAction(`Delete “${strategy.name}”?`, 'It is not active; deleting it changes nothing the screener does.', { confirmLabel: 'Delete' }))) return;
    this.say(await api(`/strategies/${strategy.id}`, { method: 'DELETE' }), 'Deleted.');
    await this.load();
  }

  say(result, success) {
    const message = $('#strategy-message');
    message.classList.toggle('error', !result.ok);
    message.textContent = result.ok ? success ?? '' : messageOf(result);
  }
}

function numberOrNull(value) {
  return value === '' ? null : Number(value);
}

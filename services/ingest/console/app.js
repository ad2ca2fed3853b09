import { $ } from './dom.js';
import { LiveFeed } from './live-feed.js';
import { SignalsPanel } from './signals-panel.js';
import { OperationsPanel } from './operations-panel.js';
import { TopnPanel } from './topn-panel.js';
import { StrategiesPanel } from './strategies-panel.js';
import { ActionsPanel } from './actions-panel.js';
import { ChartsPanel } from './charts-panel.js';

/** The console: one page of panels behind tabs (the URL's #hash), all fed by the relay's JSON routes and the live feed. */
const signals = new SignalsPanel();
const operations = new OperationsPanel();
const topn = new TopnPanel();
const strategies = new StrategiesPanel({ onActivated: () => topn.loadConfig() });
const actions = new ActionsPanel();
const charts = new ChartsPanel();

const FEED_TEXT = { live: 'live', connecting: 'connecting…', reconnecting: 'reconnecting…' };
let listLoaded = false;
const feed = new LiveFeed({
  onState(state) {
    const el = $('#feed-state');
    el.dataset.state = state;
    el.textContent = FEED_TEXT[state] ?? state;
  },
  // The feed is open first, then the list is read: nothing that happens in between is missed.
  onHello() {
    if (!listLoaded) {
      listLoaded = true;
      signals.search();
    }
  },
  onChanges(changes) {
    signals.apply(changes);
    operations.onChanges(changes);
    charts.onChanges(changes);
  },
  // Too far behind to be replayed: read the list again.
  onReset() {
    signals.load();
  },
});

/** Panels that read only when first shown (their data is not needed before). */
const lazy = { operations, topn, strategies, actions, charts };
const started = new Set();

function showTab() {
  const name = location.hash.slice(1) || 'signals';
  for (const panel of document.querySelectorAll('[data-panel]')) panel.hidden = panel.dataset.panel !== name;
  for (const link of document.querySelectorAll('#tabs a')) link.classList.toggle('active', link.dataset.tab === name);
  if (!lazy[name]) return;
  if (!started.has(name)) {
    started.add(name);
    lazy[name].start();
  } else if (name === 'strategies') strategies.load();
  else if (name === 'actions') actions.load(false);
}

window.addEventListener('hashchange', showTab);
showTab();
feed.start();
// The list is read even while the feed cannot open (Redis down): it catches up once the feed is back.
setTimeout(() => feed.handlers.onHello(), 3000);

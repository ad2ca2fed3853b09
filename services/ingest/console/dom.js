/** Small DOM helpers: every value reaches the page as text, never as HTML. */

/** An element with attributes (`on…` ones are listeners, `dataset` a map) and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    else if (name === 'class') el.className = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** Replaces an element's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A time as the operator reads it: HH:MM:SS today, else date and time (local). */
export function when(iso) {
  if (!iso) return '—';
  const t = new Date(iso);
  if (Number.isNaN(t.getTime())) return String(iso);
  const sameDay = t.toDateString() === new Date().toDateString();
  return sameDay ? t.toLocaleTimeString([], { hour12: false }) : `${t.toLocaleDateString()} ${t.toLocaleTimeString([], { hour12: false })}`;
}

/** The value of a `datetime-local` input as ISO-8601 with a zone (what the API takes), or ''. */
export function isoOfLocal(value) {
  if (!value) return '';
  const t = new Date(value);
  return Number.isNaN(t.getTime()) ? value : t.toISOString();
}

/** Statuses as the console names them: the API's `forwarded` is a delivery the destination took. */
export const STATUS_LABEL = { forwarded: 'delivered' };

export function statusBadge(status) {
  return h('span', { class: 'status', dataset: { status } }, STATUS_LABEL[status] ?? status);
}

/** Runs `fn` at most once per `ms`, after the last call. */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Shows an API error's field details beside the inputs they name, and its message in `summary`. */
export function showFieldErrors(form, summary, result) {
  for (const el of form.querySelectorAll('.invalid')) el.classList.remove('invalid');
  for (const el of form.querySelectorAll('.field-error')) el.textContent = '';
  if (summary) summary.textContent = '';
  if (!result || result.ok) return;
  const details = Array.isArray(result.body?.details) ? result.body.details : [];
  let placed = false;
  for (const detail of details) {
    const field = String(detail?.field ?? '');
    const input = field && form.elements.namedItem(field);
    const slot = form.querySelector(`.field-error[data-for="${CSS.escape(field)}"]`);
    if (input instanceof HTMLElement) input.classList.add('invalid');
    if (slot) {
      slot.textContent = String(detail.message ?? '');
      placed = true;
    }
  }
  if (summary && (!placed || !details.length)) summary.textContent = result.body?.message ?? `Error ${result.status}`;
}

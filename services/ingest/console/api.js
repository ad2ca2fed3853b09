/** The relay's JSON routes, called with the console's session cookie (same origin). */

/** `{ok, status, body}`; an expired session sends the browser back to the login form. */
export async function api(path, { method = 'GET', body } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (error) {
    return { ok: false, status: 0, body: { error: 'network', message: `The relay did not answer: ${error.message}` } };
  }
  if (res.status === 401 && path !== '/admin/events') {
    location.assign('/admin');
  }
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { error: 'not_json', message: text.slice(0, 200) };
  }
  return { ok: res.ok, status: res.status, body: parsed };
}

/** A query string of the non-empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** An error answer as one line for the operator. */
export function messageOf(result) {
  return result.body?.message ?? `Error ${result.status}`;
}

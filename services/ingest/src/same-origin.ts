/** Methods that only read: a cross-site page may cause them but never sees their answer. */
const SAFE_METHODS = new Set(['GET', 'HEAD']);

export function isStateChanging(method: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase());
}

/**
 * Whether a browser says the request comes from a page of this same host. A cookie goes with
 * cross-site requests in some browsers and setups despite SameSite=Strict (older browsers, a
 * sibling subdomain), so a state-changing request the cookie authenticates must also show it
 * was sent by the console itself: `Origin` naming the request's own host or, from a browser that
 * sends no Origin, `Sec-Fetch-Site: same-origin`. Anything else (no header, `Origin: null`,
 * another host) is refused.
 */
export function isSameOriginRequest(headers: Record<string, string | string[] | undefined>): boolean {
  const host = single(headers.host)?.toLowerCase();
  const origin = single(headers.origin);
  if (origin !== undefined) {
    if (!host) return false;
    try {
      return new URL(origin).host.toLowerCase() === host;
    } catch {
      return false;
    }
  }
  return single(headers['sec-fetch-site'])?.toLowerCase() === 'same-origin';
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}

/**
 * URLs an operator may set at runtime (the Finviz screener, the destination) must name a host
 * on an allow-list from the environment: a stolen admin token cannot point the screener at an
 * internal address, nor trades at another broker, unless the operator listed it.
 */

/** An entry that names a port ("127.0.0.1:8080", "[::1]:8080"). */
const WITH_PORT = /^(\[[^\]]+\]|[^:[\]]+):\d+$/;

/**
 * True when `raw` is an http(s) URL without credentials whose host is in the allow-list. An entry
 * without a port allows only the scheme's default port, so "finviz.com" never lets a URL reach
 * another service on that host, and an internal address (127.0.0.1, 169.254.169.254) is refused
 * unless an operator listed it. A look-alike host (Cyrillic letters) becomes its punycode, which
 * no entry matches.
 */
export function urlHostAllowed(raw: string, allowedHosts: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (url.username || url.password) return false;
  const host = url.host.toLowerCase();
  const hostname = url.hostname.toLowerCase();
  return allowedHosts.some((item) => {
    const entry = item.trim().toLowerCase();
    if (!entry) return false;
    return WITH_PORT.test(entry) ? entry === host : entry === hostname && url.port === '';
  });
}

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const SPACE_OR_CONTROL = /[\u0000-\u0020\u007f-\u009f]/;

/**
 * True when the text holds a space or a control character. new URL() drops tabs and newlines
 * without a word ("https://bro\tker.com" becomes "https://broker.com"), so a URL an operator sets
 * is refused outright rather than parsed into something else.
 */
export function hasSpaceOrControl(raw: string): boolean {
  return SPACE_OR_CONTROL.test(raw);
}

/** The allow-list entry that admits exactly this URL's host and port. */
export function allowListEntryOf(raw: string): string {
  const url = new URL(raw);
  return url.port === '' ? url.hostname.toLowerCase() : url.host.toLowerCase();
}

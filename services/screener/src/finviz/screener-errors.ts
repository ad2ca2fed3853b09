/**
 * Why a scrape failed. The loop branches on the class (back off or not, how long) and the
 * metrics label every fetch with `outcome`; nobody has to read message text.
 */

/** Every label of `tsp_screener_fetches_total{outcome}`. */
export const FETCH_OUTCOMES = [
  'ok',
  'blocked',
  'rate_limited',
  'server_error',
  'http_error',
  'unrecognised_page',
  'network_error',
  'auth_error',
] as const;
export type FetchOutcome = (typeof FETCH_OUTCOMES)[number];

export abstract class ScreenerError extends Error {
  abstract readonly outcome: Exclude<FetchOutcome, 'ok'>;
  /** True when hammering again at the normal pace would make things worse (Finviz is pushing back). */
  abstract readonly backOff: boolean;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** 403 (no browser User-Agent, IP ban) or a Cloudflare challenge: no header trick gets past it. */
export class ScreenerBlockedError extends ScreenerError {
  readonly outcome = 'blocked' as const;
  readonly backOff = true;

  constructor(message: string, readonly status: number | null, readonly challenge: boolean, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** 429, or the "Too Many Requests" page Finviz sometimes serves with HTTP 200. */
export class ScreenerRateLimitedError extends ScreenerError {
  readonly outcome = 'rate_limited' as const;
  readonly backOff = true;

  constructor(message: string, readonly retryAfterMs: number | null, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class ScreenerServerError extends ScreenerError {
  readonly outcome = 'server_error' as const;
  readonly backOff = true;

  constructor(message: string, readonly status: number, readonly retryAfterMs: number | null) {
    super(message);
  }
}

/** Any other non-2xx answer (404 from a mistyped URL, 401, ...): retrying faster will not fix it. */
export class ScreenerHttpError extends ScreenerError {
  readonly outcome = 'http_error' as const;
  readonly backOff = false;

  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/** No answer at all: DNS, refused connection, reset, timeout. */
export class ScreenerNetworkError extends ScreenerError {
  readonly outcome = 'network_error' as const;
  readonly backOff = false;

  constructor(message: string, readonly code: string | null, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Elite refused us: the login failed (wrong email or password) or the API token was not accepted.
 * Retrying at the normal pace would only risk locking the account.
 */
export class EliteAuthError extends ScreenerError {
  readonly outcome = 'auth_error' as const;
  readonly backOff = true;
}

/** What a page without a results table looks like, judged from its text. */
export type PageLooksLike = 'rate_limited' | 'challenge' | 'unknown';

/**
 * A page that is not a screener result. Never read as "zero tickers": publishing an empty set
 * would reject every signal while Finviz is merely refusing us.
 */
export class UnrecognisedPageError extends ScreenerError {
  readonly outcome = 'unrecognised_page' as const;
  readonly backOff = false;

  constructor(message: string, readonly looksLike: PageLooksLike = 'unknown') {
    super(message);
  }
}

/** How long the server asked us to wait, if it did. */
export function retryAfterOf(error: unknown): number | null {
  if (error instanceof ScreenerRateLimitedError || error instanceof ScreenerServerError) return error.retryAfterMs;
  return null;
}

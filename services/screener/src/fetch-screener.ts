import axios, { AxiosError, type AxiosResponse } from 'axios';
import { parseScreener, type ScreenerPage } from './parse-screener';
import {
  ScreenerBlockedError, ScreenerHttpError, ScreenerNetworkError, ScreenerRateLimitedError, ScreenerServerError,
  UnrecognisedPageError,
} from './screener-errors';

export interface FetchScreenerOptions {
  /** Per-request timeout: a hung Finviz must not hold the loop (and so the Top-N age) hostage. */
  timeoutMs: number;
  /** Aborts the request when the service stops. */
  signal?: AbortSignal;
}

/** Finviz answers 403 to non-browser User-Agents. */
export const BROWSER_HEADERS = {
  'User-Agent':
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/138.0.0.0 Safari/537.36',
  Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'Accept-Language': 'en-US,en;q=0.9',
} as const;

/** A screener page is a few hundred KB; anything far larger is not one. */
const MAX_PAGE_BYTES = 10 * 1024 * 1024;

/**
 * GETs one screener page and parses it. Every way it can fail becomes one typed error
 * (see screener-errors.ts), so the loop decides how to back off without reading messages.
 */
export async function fetchScreenerPage(url: string, options: FetchScreenerOptions): Promise<ScreenerPage> {
  let response: AxiosResponse<string>;
  try {
    response = await axios.get<string>(url, {
      headers: BROWSER_HEADERS,
      timeout: options.timeoutMs,
      signal: options.signal,
      responseType: 'text',
      // Keep the body as text whatever the Content-Type claims: we parse HTML ourselves.
      transformResponse: [(data: string) => data],
      validateStatus: () => true,
      maxContentLength: MAX_PAGE_BYTES,
      maxRedirects: 5,
    });
  } catch (error) {
    throw networkError(error);
  }
  classifyStatus(response);
  try {
    return parseScreener(String(response.data ?? ''));
  } catch (error) {
    if (!(error instanceof UnrecognisedPageError)) throw error;
    // Finviz and Cloudflare sometimes refuse with HTTP 200 and a page of their own.
    if (error.looksLike === 'rate_limited') {
      throw new ScreenerRateLimitedError(`HTTP ${response.status} with a "Too Many Requests" page`, null, { cause: error });
    }
    if (error.looksLike === 'challenge') {
      throw new ScreenerBlockedError(`HTTP ${response.status} with a bot challenge page`, response.status, true, { cause: error });
    }
    throw error;
  }
}

function header(response: AxiosResponse, name: string): string | undefined {
  const value = response.headers[name];
  return value === undefined || value === null ? undefined : String(value);
}

/** Throws the typed error for a non-2xx answer; returns for a 2xx one. */
function classifyStatus(response: AxiosResponse): void {
  const { status } = response;
  const retryAfterMs = parseRetryAfter(header(response, 'retry-after'));
  // Cloudflare's managed challenge (403, sometimes 503) can only be waited out.
  if (header(response, 'cf-mitigated')?.toLowerCase() === 'challenge') {
    throw new ScreenerBlockedError(`HTTP ${status} with a Cloudflare challenge (cf-mitigated: challenge)`, status, true);
  }
  if (status >= 200 && status < 300) return;
  if (status === 429) throw new ScreenerRateLimitedError('HTTP 429 Too Many Requests', retryAfterMs);
  if (status === 403) throw new ScreenerBlockedError('HTTP 403 Forbidden', status, false);
  if (status >= 500) throw new ScreenerServerError(`HTTP ${status}`, status, retryAfterMs);
  throw new ScreenerHttpError(`HTTP ${status}`, status);
}

function networkError(error: unknown): ScreenerNetworkError {
  if (error instanceof AxiosError) {
    const code = error.code ?? null;
    const what = code === AxiosError.ECONNABORTED || code === AxiosError.ETIMEDOUT ? 'timed out' : error.message;
    return new ScreenerNetworkError(`no answer from the screener: ${what}`, code, { cause: error });
  }
  return new ScreenerNetworkError(`no answer from the screener: ${(error as Error)?.message ?? String(error)}`, null, { cause: error });
}

/** Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

import axios, { AxiosError, type AxiosResponse } from 'axios';
import { parseRetryAfterMs, urlHostAllowed } from '@tsp/core';
import type { RequestGate } from './request-gate';
import {
  ScreenerBlockedError, ScreenerError, type FetchOutcome, ScreenerHttpError, ScreenerNetworkError, ScreenerRateLimitedError, ScreenerServerError,
} from './screener-errors';

/** How every request to Finviz is made: the HTML pages and the Elite export alike. */
export interface FinvizHttpOptions {
  /** Per-request timeout: a hung Finviz must not hold the loop (and so the Top-N age) hostage. */
  timeoutMs: number;
  /** Aborts the request when the service stops. */
  signal?: AbortSignal;
  /** Serialises requests and paces them (one at a time, a pause between). None: sent at once. */
  gate?: RequestGate;
  /** Hosts a redirect may lead to besides the URL's own (FINVIZ_ALLOWED_HOSTS). */
  allowedHosts?: readonly string[];
  /** Told the outcome of every request (metrics). */
  onOutcome?: (outcome: FetchOutcome) => void;
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
const MAX_REDIRECTS = 5;

/** Runs one request and tells `onOutcome` how it went, whatever happens. */
export async function reportOutcome<T>(onOutcome: ((outcome: FetchOutcome) => void) | undefined, run: () => Promise<T>): Promise<T> {
  try {
    const result = await run();
    onOutcome?.('ok');
    return result;
  } catch (error) {
    if (error instanceof ScreenerError) onOutcome?.(error.outcome);
    throw error;
  }
}

export interface FinvizRequest {
  method: 'get' | 'post';
  url: string;
  /** Form fields (POST, application/x-www-form-urlencoded). */
  form?: Record<string, string>;
  headers?: Record<string, string>;
  /** false: a 3xx is returned to the caller (to see a redirect to the login page). */
  followRedirects?: boolean;
}

/**
 * One HTTP exchange with Finviz, through the gate, as a browser would ask. Redirects are followed
 * by hand so that none leads to a host outside the URL's own and FINVIZ_ALLOWED_HOSTS. Answers
 * whatever status came; only "no answer at all" throws (ScreenerNetworkError).
 */
export async function finvizRequest(request: FinvizRequest, options: FinvizHttpOptions): Promise<AxiosResponse<string>> {
  const send = async (): Promise<AxiosResponse<string>> => {
    let url = request.url;
    let method = request.method;
    for (let hop = 0; ; hop += 1) {
      let response: AxiosResponse<string>;
      try {
        response = await axios.request<string>({
          method,
          url,
          data: method === 'post' && request.form ? new URLSearchParams(request.form).toString() : undefined,
          headers: {
            ...BROWSER_HEADERS,
            ...(method === 'post' ? { 'Content-Type': 'application/x-www-form-urlencoded' } : {}),
            ...request.headers,
          },
          timeout: options.timeoutMs,
          signal: options.signal,
          responseType: 'text',
          // Keep the body as text whatever the Content-Type claims: we parse HTML and CSV ourselves.
          transformResponse: [(data: string) => data],
          validateStatus: () => true,
          maxContentLength: MAX_PAGE_BYTES,
          maxRedirects: 0,
        });
      } catch (error) {
        throw networkError(error);
      }
      const location = header(response, 'location');
      if (request.followRedirects === false || response.status < 300 || response.status >= 400 || !location) return response;
      if (hop >= MAX_REDIRECTS) throw new ScreenerHttpError(`more than ${MAX_REDIRECTS} redirects`, response.status);
      const next = new URL(location, url);
      if (next.host !== new URL(request.url).host && !urlHostAllowed(next.href, options.allowedHosts ?? [])) {
        throw new ScreenerHttpError(`redirected to ${next.host}, which is not in FINVIZ_ALLOWED_HOSTS`, response.status);
      }
      url = next.href;
      // 303 (and, as browsers do, 301/302 after a POST) turn into a GET.
      if (method === 'post' && response.status !== 307 && response.status !== 308) method = 'get';
    }
  };
  return options.gate ? options.gate.run(send, options.signal) : send();
}

export function header(response: AxiosResponse, name: string): string | undefined {
  const value = response.headers[name];
  return value === undefined || value === null ? undefined : String(value);
}

/** Throws the typed error for a non-2xx answer; returns for a 2xx one. */
export function classifyStatus(response: AxiosResponse): void {
  const { status } = response;
  const retryAfterMs = parseRetryAfterMs(header(response, 'retry-after'));
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


import type { AxiosResponse } from 'axios';
import type { Logger } from '@tsp/core';
import { classifyStatus, finvizRequest, header, reportOutcome, type FinvizHttpOptions } from './http-client';
import { parseExportCsv } from './export-csv';
import { EliteAuthError, ScreenerHttpError } from './screener-errors';
import type { Scraper, TopnScrape } from './scraper';

export interface EliteExportOptions {
  /** The CSV endpoint (FINVIZ_EXPORT_URL, https://elite.finviz.com/export.ashx). */
  exportUrl: string;
  /** The login form target (FINVIZ_LOGIN_URL, https://finviz.com/login_submit.ashx). */
  loginUrl: string;
  /** FINVIZ_AUTH_TOKEN: sent as `auth=`; no login then. */
  authToken: string | null;
  email: string | null;
  password: string | null;
  /** Timeout, gate, allowed redirect hosts and the per-scrape outcome callback. */
  http: Omit<FinvizHttpOptions, 'signal'>;
  logger: Logger;
  /** Told each login's outcome (metrics). */
  onLogin?: (outcome: 'ok' | 'failed') => void;
}

/** A page that is Finviz's login form rather than what was asked for. */
const LOGIN_FORM = /<input[^>]+type\s*=\s*["']?password|login_submit/i;

/**
 * Finviz Elite's CSV export (`export.ashx` with the screener URL's filters and order): one
 * request for every row, the header row skipped. With FINVIZ_AUTH_TOKEN it sends `auth=`;
 * otherwise it logs in with FINVIZ_EMAIL / FINVIZ_PASSWORD, keeps the session cookie, and logs
 * in again when the export sends it to the login page (the cookie lasts about an hour).
 *
 * The password, the token and the cookie are never logged, nor put in an error message.
 */
export class EliteExport {
  /** The session: cookie name → value, as the login (and later answers) set them. */
  private readonly cookies = new Map<string, string>();

  constructor(private readonly options: EliteExportOptions) {}

  readonly scrape: Scraper = (url, _topN, signal) => reportOutcome(this.options.http.onOutcome, () => this.read(url, signal));

  /** The export URL for a screener URL: its parameters (filters, `o=` sort, view) on the export endpoint. */
  exportUrlFor(screenerUrl: string): string {
    const query = screenerUrl.includes('?') ? screenerUrl.slice(screenerUrl.indexOf('?') + 1).split('#')[0] : '';
    const params = query.split('&').filter((part) => part && !['r', 'auth'].includes(part.split('=')[0].toLowerCase()));
    if (this.options.authToken) params.push(`auth=${encodeURIComponent(this.options.authToken)}`);
    const base = this.options.exportUrl;
    if (params.length === 0) return base;
    return `${base}${base.includes('?') ? '&' : '?'}${params.join('&')}`;
  }

  private async read(screenerUrl: string, signal: AbortSignal): Promise<TopnScrape> {
    const url = this.exportUrlFor(screenerUrl);
    const usesToken = Boolean(this.options.authToken);
    if (!usesToken && this.cookies.size === 0) await this.login(signal);
    let response = await this.get(url, signal);
    if (asksToLogIn(response)) {
      if (usesToken) throw new EliteAuthError('the Elite export refused FINVIZ_AUTH_TOKEN (it answered with the login page)');
      this.options.logger.info('the Finviz Elite session has expired; logging in again');
      this.cookies.clear();
      await this.login(signal);
      response = await this.get(url, signal);
      if (asksToLogIn(response)) throw new EliteAuthError('the Elite export asks to log in again right after a successful login');
    }
    if (response.status >= 300 && response.status < 400) {
      throw new ScreenerHttpError(`the Elite export redirected (HTTP ${response.status}) instead of answering CSV`, response.status);
    }
    classifyStatus(response);
    const rows = parseExportCsv(String(response.data ?? ''));
    const tickers = [...new Set(rows)];
    return {
      tickers, total: rows.length, source: new URL(this.options.exportUrl).host, truncated: false,
      duplicatesDropped: rows.length - tickers.length, pages: 1,
    };
  }

  private async get(url: string, signal: AbortSignal): Promise<AxiosResponse<string>> {
    const response = await finvizRequest(
      { method: 'get', url, headers: this.cookieHeader(), followRedirects: false },
      { ...this.options.http, signal },
    );
    this.keepCookies(response);
    return response;
  }

  private async login(signal: AbortSignal): Promise<void> {
    const { email, password, loginUrl } = this.options;
    if (!email || !password) {
      throw new EliteAuthError('FINVIZ_USE_ELITE is on without FINVIZ_AUTH_TOKEN, and FINVIZ_EMAIL / FINVIZ_PASSWORD are not both set');
    }
    const response = await finvizRequest(
      { method: 'post', url: loginUrl, form: { email, password, remember: '1' }, headers: this.cookieHeader(), followRedirects: false },
      { ...this.options.http, signal },
    );
    this.keepCookies(response);
    try {
      if (response.status === 401 || asksToLogIn(response)) {
        throw new EliteAuthError(`the Finviz login was refused (HTTP ${response.status}): check FINVIZ_EMAIL and FINVIZ_PASSWORD`);
      }
      if (response.status < 300 || response.status >= 400) classifyStatus(response);
      if (this.cookies.size === 0) throw new EliteAuthError(`the Finviz login answered HTTP ${response.status} without a session cookie`);
    } catch (error) {
      this.cookies.clear();
      this.options.onLogin?.('failed');
      throw error;
    }
    this.options.onLogin?.('ok');
    this.options.logger.info('logged in to Finviz Elite');
  }

  private cookieHeader(): Record<string, string> {
    if (this.cookies.size === 0) return {};
    return { Cookie: [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ') };
  }

  private keepCookies(response: AxiosResponse): void {
    const raw = response.headers['set-cookie'];
    const lines = Array.isArray(raw) ? raw : raw ? [String(raw)] : [];
    for (const line of lines) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attributes.some((attribute) => {
        const [key, val = ''] = attribute.split('=').map((part) => part.trim());
        if (/^max-age$/i.test(key)) return Number(val) <= 0;
        if (/^expires$/i.test(key)) return Date.parse(val) <= Date.now();
        return false;
      });
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }
}

/** A redirect to the login page, a 401, or the login form itself instead of the answer. */
function asksToLogIn(response: AxiosResponse<string>): boolean {
  if (response.status >= 300 && response.status < 400) return /login/i.test(header(response, 'location') ?? '');
  if (response.status === 401) return true;
  const body = String(response.data ?? '');
  return response.status === 200 && /^\s*</.test(body) && LOGIN_FORM.test(body);
}

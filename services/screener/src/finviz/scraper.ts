import type { Config, Logger } from '@tsp/core';
import { EliteExport } from './elite-export';
import { scrapeTopn } from './html-scraper';
import type { FinvizHttpOptions } from './http-client';
import { RequestGate } from './request-gate';
import type { FetchOutcome } from './screener-errors';

/** What one scrape found: the ranked tickers the Top-N is taken from. */
export interface TopnScrape {
  /** In rank order, without repeats, at least top_n when the screener has that many. */
  tickers: string[];
  /** How many rows the screener matches in all, when the page says. */
  total: number | null;
  /** Names where the set came from, for the published set and its history row. */
  source: string;
  /** True when fewer than top_n rows were read although the screener has more. */
  truncated: boolean;
  /** Tickers met again on a later page (the list moved between two page requests) and dropped. */
  duplicatesDropped: number;
  /** Requests the scrape took. */
  pages: number;
}

/** Reads the top `topN` rows of the screener at `url`. One implementation per way of reading. */
export type Scraper = (url: string, topN: number, signal: AbortSignal) => Promise<TopnScrape>;

/** Finviz usually answers in well under a second; a hung request must not stall the loop for long. */
const FETCH_TIMEOUT_MS = 10_000;

export interface ScraperHooks {
  /** Told the outcome of every request (metrics). */
  onOutcome: (outcome: FetchOutcome) => void;
  /** Told each Elite login's outcome (metrics). */
  onLogin: (outcome: 'ok' | 'failed') => void;
}

/**
 * The way of reading Finviz the configuration asks for: the HTML screener page by page, or the
 * Elite CSV export (with FINVIZ_AUTH_TOKEN, or by logging in). Either way every request goes
 * through one gate, FINVIZ_PAGE_DELAY_MS apart.
 */
export function createScraper(config: Config, logger: Logger, hooks: ScraperHooks): Scraper {
  const http: FinvizHttpOptions = {
    timeoutMs: FETCH_TIMEOUT_MS,
    gate: new RequestGate(() => config.finvizPageDelayMs),
    allowedHosts: config.finvizAllowedHosts,
    onOutcome: hooks.onOutcome,
  };
  if (!config.finvizUseElite) return (url, topN, signal) => scrapeTopn(url, topN, { ...http, signal });
  return new EliteExport({
    exportUrl: config.finvizExportUrl, loginUrl: config.finvizLoginUrl, authToken: config.finvizAuthToken,
    email: config.finvizEmail, password: config.finvizPassword, http, logger, onLogin: hooks.onLogin,
  }).scrape;
}

/** How the screener reads Finviz, for /status and /admin/state. */
export function scraperMode(config: Config): 'html' | 'elite_token' | 'elite_login' {
  if (!config.finvizUseElite) return 'html';
  return config.finvizAuthToken ? 'elite_token' : 'elite_login';
}

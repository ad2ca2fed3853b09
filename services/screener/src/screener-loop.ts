import type { Logger, TopnSet } from '@tsp/core';
import { backoffDelayMs } from './backoff';
import { retryAfterOf, ScreenerError, type FetchOutcome } from './screener-errors';
import type { TopnScrape } from './scrape-topn';
import type { PublishResult } from './publish-topn';

/** What the loop scrapes, read afresh before every fetch so it can change at run time. */
export interface ScreenerSettings {
  /** null: nothing to scrape, nothing is published. */
  url: string | null;
  topN: number;
  refreshSec: number;
}

export interface ScreenerLoopOptions {
  settings: () => ScreenerSettings;
  scrape: (url: string, topN: number, signal: AbortSignal) => Promise<TopnScrape>;
  publish: (tickers: string[], topN: number, source: string, fetchedAt: Date) => Promise<PublishResult>;
  logger: Logger;
  /** Called once per fetch attempt with its outcome (metrics). */
  onFetch?: (outcome: FetchOutcome) => void;
  /** Injectable jitter source. */
  random?: () => number;
  maxBackoffMs?: number;
}

export type RunOutcome = FetchOutcome | 'not_configured' | 'internal_error';

/** One pass of the loop, as /status and POST /admin/refresh report it. */
export interface RunReport {
  outcome: RunOutcome;
  at: string;
  duration_ms: number;
  /** Whether a set was written to Redis by this pass. */
  published: boolean;
  /** True when the published set differed from the previous one. */
  changed: boolean;
  snapshot_id: string | null;
  tickers_read: number | null;
  total: number | null;
  error: string | null;
}

/** Public scrapers leave at least this between page requests; so do we, even after a slow fetch. */
const MIN_GAP_MS = 1000;

/** The normal pace: one pass per refresh period, start to start. */
function pacedDelay(refreshMs: number, started: number): number {
  return Math.max(refreshMs - (Date.now() - started), MIN_GAP_MS);
}

/**
 * Fetches, parses and publishes every refresh period, one pass at a time.
 *
 * On failure the last published set is left alone: it ages, and approvers fail closed
 * (topn_stale) once it is older than TOPN_MAX_AGE_SEC. Push-backs from Finviz (429, 5xx,
 * blocks) stretch the wait exponentially; nothing makes it shorter than the refresh period.
 */
export class ScreenerLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<RunReport> | null = null;
  private stopped = false;
  private readonly abort = new AbortController();
  private pushBacks = 0;
  private consecutiveFailures = 0;
  private nextRunAt: number | null = null;
  private last: RunReport | null = null;
  private lastSuccessAt: string | null = null;
  private lastPublished: TopnSet | null = null;
  private wasTruncated = false;
  private wasConfigured: boolean | null = null;

  constructor(private readonly options: ScreenerLoopOptions) {}

  /** Starts with a fetch at once, so a fresh set is out as soon as the service is up. */
  start(): void {
    this.schedule(0);
  }

  /** Runs a pass now (after the one in progress, if any: passes never overlap) and reports it. */
  async refreshNow(): Promise<RunReport | null> {
    while (this.running) await this.running;
    if (this.stopped) return this.last;
    this.clearTimer();
    return this.runOnce();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    this.abort.abort();
    if (this.running) await this.running;
  }

  status() {
    return {
      last: this.last,
      last_success_at: this.lastSuccessAt,
      consecutive_failures: this.consecutiveFailures,
      backing_off: this.pushBacks > 0,
      next_fetch_at: this.nextRunAt === null ? null : new Date(this.nextRunAt).toISOString(),
    };
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.nextRunAt = null;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.clearTimer();
    this.nextRunAt = Date.now() + delayMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runOnce();
    }, delayMs);
  }

  private runOnce(): Promise<RunReport> {
    this.nextRunAt = null;
    const run = this.pass().finally(() => {
      this.running = null;
    });
    this.running = run;
    return run;
  }

  /** One pass; never throws, always schedules the next one. */
  private async pass(): Promise<RunReport> {
    const started = Date.now();
    const settings = this.options.settings();
    const refreshMs = settings.refreshSec * 1000;
    const report: RunReport = {
      outcome: 'ok', at: new Date(started).toISOString(), duration_ms: 0, published: false, changed: false,
      snapshot_id: null, tickers_read: null, total: null, error: null,
    };
    if (!settings.url) {
      report.outcome = 'not_configured';
      report.error = 'FINVIZ_URL is not set';
      if (this.wasConfigured !== false) this.options.logger.warn('FINVIZ_URL is not set: no Top-N set is published, approvers will reject BUY signals');
      this.wasConfigured = false;
      return this.finish(report, started, refreshMs);
    }
    this.wasConfigured = true;

    let scrape: TopnScrape;
    try {
      scrape = await this.options.scrape(settings.url, settings.topN, this.abort.signal);
    } catch (error) {
      if (this.stopped) return this.finish({ ...report, outcome: 'network_error', error: 'stopped' }, started, null);
      return this.finish(report, started, this.onScrapeFailure(report, error, refreshMs, started));
    }

    this.options.onFetch?.('ok');
    report.tickers_read = scrape.tickers.length;
    report.total = scrape.total;
    this.warnOnTruncation(scrape, settings.topN);
    this.pushBacks = 0;
    try {
      const { set, changed } = await this.options.publish(scrape.tickers, settings.topN, scrape.source, new Date());
      Object.assign(report, { published: true, changed, snapshot_id: set.snapshot_id });
      this.lastPublished = set;
      this.lastSuccessAt = report.at;
      this.consecutiveFailures = 0;
      if (changed) this.options.logger.info('published a new Top-N set', { snapshot_id: set.snapshot_id, tickers: set.tickers, top_n: set.top_n });
    } catch (error) {
      // Redis is down: the set in Redis (if any) ages until we can write again.
      report.error = `could not publish: ${(error as Error).message}`;
      this.consecutiveFailures += 1;
      this.options.logger.warn('could not publish the Top-N set', { error: (error as Error).message, consecutive_failures: this.consecutiveFailures });
    }
    return this.finish(report, started, pacedDelay(refreshMs, started));
  }

  /** Records a failed fetch and answers how long to wait before the next one. */
  private onScrapeFailure(report: RunReport, error: unknown, refreshMs: number, started: number): number {
    this.consecutiveFailures += 1;
    report.error = (error as Error)?.message ?? String(error);
    if (!(error instanceof ScreenerError)) {
      // A bug (in the parser, say), not Finviz: say so loudly, keep the pace.
      report.outcome = 'internal_error';
      this.options.logger.error('screener pass failed unexpectedly', { error: (error as Error)?.stack ?? String(error) });
      return pacedDelay(refreshMs, started);
    }
    report.outcome = error.outcome;
    this.options.onFetch?.(error.outcome);
    const context = {
      outcome: error.outcome, error: error.message, consecutive_failures: this.consecutiveFailures,
      kept_snapshot_id: this.lastPublished?.snapshot_id ?? null,
    };
    if (!error.backOff) {
      this.options.logger.warn('screener fetch failed; keeping the last Top-N set', context);
      return pacedDelay(refreshMs, started);
    }
    this.pushBacks += 1;
    const delayMs = backoffDelayMs({
      refreshMs, failures: this.pushBacks, retryAfterMs: retryAfterOf(error),
      maxBackoffMs: this.options.maxBackoffMs, random: this.options.random,
    });
    this.options.logger.warn('Finviz pushed back; backing off and keeping the last Top-N set', { ...context, retry_in_ms: delayMs });
    return delayMs;
  }

  private warnOnTruncation(scrape: TopnScrape, topN: number): void {
    if (scrape.truncated && !this.wasTruncated) {
      this.options.logger.warn(`TOP_N is ${topN} but the screener page holds only ${scrape.tickers.length} rows; later pages are not read yet, so the Top-N set is short`, {
        total: scrape.total,
      });
    }
    this.wasTruncated = scrape.truncated;
  }

  private finish(report: RunReport, started: number, nextDelayMs: number | null): RunReport {
    report.duration_ms = Date.now() - started;
    this.last = report;
    if (nextDelayMs !== null) this.schedule(nextDelayMs);
    return report;
  }
}

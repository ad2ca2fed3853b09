import type { Logger, TopnSet } from '@tsp/core';
import { backoffDelayMs, MAX_RETRY_AFTER_MS } from './backoff';
import { retryAfterOf, ScreenerError, type FetchOutcome } from './finviz/screener-errors';
import type { TopnScrape } from './finviz/scraper';
import type { PublishDetails, PublishResult } from './publish-topn';

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
  publish: (tickers: string[], topN: number, source: string, fetchedAt: Date, details?: PublishDetails) => Promise<PublishResult>;
  logger: Logger;
  /** Only the leader among the replicas scrapes; the others idle (default: always the leader). */
  isLeader?: () => boolean;
  /** While true (an operator paused the screener for every replica) nothing is fetched or published (default: never). */
  isPaused?: () => boolean;
  /** Told when the next fetch is due (epoch ms), so a replica taking over keeps to it. */
  onScheduled?: (nextFetchAt: number) => void;
  /** Least time between the starts of two passes, whatever asks for one (default 1 s). */
  minGapMs?: number;
  /** Called once per fetch attempt with its outcome (metrics). */
  onFetch?: (outcome: FetchOutcome) => void;
  /** Injectable jitter source. */
  random?: () => number;
  maxBackoffMs?: number;
}

/**
 * `not_leader`: another replica scrapes. `deferred`: a refresh was asked for while Finviz's
 * Retry-After is still running; nothing was fetched. `paused`: an operator paused the screener;
 * nothing was fetched, or the pass in progress was abandoned unpublished.
 */
export type RunOutcome = FetchOutcome | 'not_configured' | 'internal_error' | 'not_leader' | 'deferred' | 'paused';

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
  /** Requests the pass made (pages, or login + export). */
  pages: number | null;
  duplicates_dropped: number | null;
  error: string | null;
}

/** Public scrapers leave at least this between requests; so do we between passes, even after a slow one. */
const MIN_GAP_MS = 1000;

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
  /** Aborts the pass in progress (its requests, its wait at the gate) on stop or pause. */
  private passAbort: AbortController | null = null;
  private pushBacks = 0;
  private consecutiveFailures = 0;
  private nextRunAt: number | null = null;
  private last: RunReport | null = null;
  private lastSuccessAt: string | null = null;
  private lastPublished: TopnSet | null = null;
  private wasTruncated = false;
  private wasConfigured: boolean | null = null;
  /** Until when Finviz asked us (Retry-After) not to come back: even an admin refresh waits. */
  private retryAfterUntil = 0;
  private lastStartedAt = 0;
  /** The settings changed during a pass: run again soon after it. */
  private settingsDirty = false;

  constructor(private readonly options: ScreenerLoopOptions) {}

  private get minGapMs(): number {
    return this.options.minGapMs ?? MIN_GAP_MS;
  }

  /** The normal pace: one pass per refresh period, start to start. */
  private pacedDelay(refreshMs: number, started: number): number {
    return Math.max(refreshMs - (Date.now() - started), this.minGapMs);
  }

  private isLeader(): boolean {
    return this.options.isLeader?.() ?? true;
  }

  private isPaused(): boolean {
    return this.options.isPaused?.() ?? false;
  }

  /**
   * The screener was paused: the pass in progress, if any, is abandoned at once (its request is
   * aborted, nothing is published). Resuming is a wake().
   */
  paused(): void {
    this.passAbort?.abort();
  }

  /**
   * This replica became the leader: fetch as soon as allowed — not before `notBefore` (the
   * previous leader's next fetch, which may be a back-off), nor sooner than the minimum gap.
   */
  wake(notBefore = 0): void {
    if (this.stopped) return;
    if (this.running) {
      void this.running.then(() => this.wake(notBefore));
      return;
    }
    const at = Math.max(Date.now(), notBefore, this.retryAfterUntil, this.lastStartedAt + this.minGapMs);
    this.schedule(at - Date.now());
  }

  /**
   * The URL, top_n or refresh period changed: fetch with them soon (after the minimum gap),
   * unless Finviz is pushing back, whose back-off keeps its course.
   */
  settingsChanged(): void {
    if (this.stopped) return;
    if (this.running) {
      this.settingsDirty = true;
      return;
    }
    if (this.pushBacks > 0) return;
    this.wake();
  }

  /** Starts with a fetch at once, so a fresh set is out as soon as the service is up. */
  start(): void {
    this.schedule(0);
  }

  /** Runs a pass now (after the one in progress, if any: passes never overlap) and reports it. */
  async refreshNow(): Promise<RunReport | null> {
    while (this.running) await this.running;
    if (this.stopped) return this.last;
    if (this.isPaused()) {
      return { ...this.emptyReport(Date.now()), outcome: 'paused', error: 'the screener is paused (POST /admin/screener/resume on ingest resumes it)' };
    }
    if (Date.now() < this.retryAfterUntil || !this.isLeader()) {
      // Nothing is fetched: the timer keeps its course.
      const outcome: RunOutcome = this.isLeader() ? 'deferred' : 'not_leader';
      return {
        ...this.emptyReport(Date.now()), outcome,
        error: outcome === 'deferred'
          ? `Finviz asked not to be asked again before ${new Date(this.retryAfterUntil).toISOString()} (Retry-After)`
          : 'another screener replica is the leader and scrapes',
      };
    }
    this.clearTimer();
    return this.runOnce();
  }

  /**
   * A refresh asked from afar (the console, through Redis): as refreshNow(), except while Finviz
   * is pushing back (a block, 5xx), when asking again would deepen it: then it is deferred and
   * the back-off keeps its course. (POST /admin/refresh on the screener's own port overrides it.)
   */
  async requestedRefresh(): Promise<RunReport | null> {
    while (this.running) await this.running;
    if (this.pushBacks > 0 && !this.stopped) {
      const next = this.nextRunAt === null ? 'its next try' : new Date(this.nextRunAt).toISOString();
      return { ...this.emptyReport(Date.now()), outcome: 'deferred', error: `Finviz pushed back ${this.pushBacks} time(s) in a row; backing off until ${next}` };
    }
    return this.refreshNow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    this.passAbort?.abort();
    if (this.running) await this.running;
  }

  status() {
    return {
      last: this.last,
      last_success_at: this.lastSuccessAt,
      consecutive_failures: this.consecutiveFailures,
      backing_off: this.pushBacks > 0,
      push_backs: this.pushBacks,
      retry_after_until: this.retryAfterUntil > Date.now() ? new Date(this.retryAfterUntil).toISOString() : null,
      next_fetch_at: this.nextRunAt === null ? null : new Date(this.nextRunAt).toISOString(),
    };
  }

  private emptyReport(started: number): RunReport {
    return {
      outcome: 'ok', at: new Date(started).toISOString(), duration_ms: 0, published: false, changed: false,
      snapshot_id: null, tickers_read: null, total: null, pages: null, duplicates_dropped: null, error: null,
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
    if (this.isLeader()) this.options.onScheduled?.(this.nextRunAt);
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runOnce();
    }, delayMs);
  }

  private runOnce(): Promise<RunReport> {
    this.nextRunAt = null;
    const abort = new AbortController();
    this.passAbort = abort;
    const run = this.pass(abort.signal).finally(() => {
      this.running = null;
      this.passAbort = null;
    });
    this.running = run;
    return run;
  }

  /** One pass; never throws, always schedules the next one. */
  private async pass(signal: AbortSignal): Promise<RunReport> {
    const started = Date.now();
    const settings = this.options.settings();
    const refreshMs = settings.refreshSec * 1000;
    const report = this.emptyReport(started);
    this.settingsDirty = false;
    if (!this.isLeader()) {
      // Idle: leadership is checked again next tick, and wake() starts at once when elected.
      report.outcome = 'not_leader';
      return this.finish(report, started, refreshMs);
    }
    if (this.isPaused()) {
      // Looked at again each period; a resume wakes the loop at once.
      report.outcome = 'paused';
      return this.finish(report, started, refreshMs);
    }
    this.lastStartedAt = started;
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
      scrape = await this.options.scrape(settings.url, settings.topN, signal);
    } catch (error) {
      if (this.stopped) return this.finish({ ...report, outcome: 'network_error', error: 'stopped' }, started, null);
      if (signal.aborted) return this.finish({ ...report, outcome: 'paused', error: 'paused during the pass' }, started, this.pacedDelay(refreshMs, started));
      return this.finish(report, started, this.onScrapeFailure(report, error, refreshMs, started));
    }

    this.options.onFetch?.('ok');
    if (this.isPaused()) {
      // Paused while the last page came in: a paused screener publishes nothing, so the set ages.
      return this.finish({ ...report, outcome: 'paused', error: 'paused during the pass' }, started, this.pacedDelay(refreshMs, started));
    }
    report.tickers_read = scrape.tickers.length;
    report.total = scrape.total;
    report.pages = scrape.pages;
    report.duplicates_dropped = scrape.duplicatesDropped;
    this.warnOnTruncation(scrape, settings.topN);
    if (scrape.duplicatesDropped > 0) {
      this.options.logger.info('the screener list moved between page requests; dropped tickers read twice', { duplicates_dropped: scrape.duplicatesDropped });
    }
    this.pushBacks = 0;
    try {
      const { set, changed } = await this.options.publish(scrape.tickers, settings.topN, scrape.source, new Date(), {
        duplicatesDropped: scrape.duplicatesDropped,
      });
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
    return this.finish(report, started, this.pacedDelay(refreshMs, started));
  }

  /** Records a failed fetch and answers how long to wait before the next one. */
  private onScrapeFailure(report: RunReport, error: unknown, refreshMs: number, started: number): number {
    this.consecutiveFailures += 1;
    report.error = (error as Error)?.message ?? String(error);
    if (!(error instanceof ScreenerError)) {
      // A bug (in the parser, say), not Finviz: say so loudly, keep the pace.
      report.outcome = 'internal_error';
      this.options.logger.error('screener pass failed unexpectedly', { error: (error as Error)?.stack ?? String(error) });
      return this.pacedDelay(refreshMs, started);
    }
    report.outcome = error.outcome;
    this.options.onFetch?.(error.outcome);
    const context = {
      outcome: error.outcome, error: error.message, consecutive_failures: this.consecutiveFailures,
      kept_snapshot_id: this.lastPublished?.snapshot_id ?? null,
    };
    if (!error.backOff) {
      this.options.logger.warn('screener fetch failed; keeping the last Top-N set', context);
      return this.pacedDelay(refreshMs, started);
    }
    this.pushBacks += 1;
    const retryAfterMs = retryAfterOf(error);
    if (retryAfterMs !== null) this.retryAfterUntil = Date.now() + Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
    const delayMs = backoffDelayMs({
      refreshMs, failures: this.pushBacks, retryAfterMs,
      maxBackoffMs: this.options.maxBackoffMs, random: this.options.random,
    });
    this.options.logger.warn('Finviz pushed back; backing off and keeping the last Top-N set', { ...context, retry_in_ms: delayMs });
    return delayMs;
  }

  private warnOnTruncation(scrape: TopnScrape, topN: number): void {
    if (scrape.truncated && !this.wasTruncated) {
      this.options.logger.warn(`top_n is ${topN} but only ${scrape.tickers.length} rows could be read although the screener reports more; the Top-N set is short`, {
        total: scrape.total, pages: scrape.pages,
      });
    }
    this.wasTruncated = scrape.truncated;
  }

  private finish(report: RunReport, started: number, nextDelayMs: number | null): RunReport {
    report.duration_ms = Date.now() - started;
    // An idle follower's tick is not news: /status keeps the leader-era report.
    if (report.outcome !== 'not_leader' || !this.last) this.last = report;
    if (nextDelayMs === null) return report;
    // Settings that changed mid-pass are used soon, unless Finviz is pushing back.
    const delay = this.settingsDirty && this.pushBacks === 0 ? Math.min(nextDelayMs, this.pacedDelay(0, started)) : nextDelayMs;
    this.settingsDirty = false;
    this.schedule(delay);
    return report;
  }
}

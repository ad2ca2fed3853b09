import {
  cachedFor, destinationWindows, forecastStarts, QUEUE, readScreenerPause, readScreenerRefreshResult, readTopnSet, screenerRefreshPending, redisKeys, spacingMs, StartLog, topnAgeSec, isTopnStale,
  type ScreenerRefreshResult,
} from '@tsp/core';
import type { Queue } from 'bullmq';
import type { IngestContext } from '../ingest-context';
import { limitsFrom, type RateLimitsInForce } from '../rate-limits';
import { webhookAuthStatus } from '../webhook-auth-status';
import { pauseState } from './screener-pause';

const JOB_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'] as const;
/** /status is public: it is computed at most once a second, however often it is asked. */
const STATUS_CACHE_MS = 1000;

function percent(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 1000) / 10;
}

async function queueSummary(queue: Queue) {
  const [counts, workers] = await Promise.all([queue.getJobCounts(...JOB_STATES), queue.getWorkersCount()]);
  return { counts, workers };
}

const iso = (ms: number | null) => (ms === null || !Number.isFinite(ms) ? null : new Date(ms).toISOString());

/**
 * The destination's limits and what they mean for the deliveries not done yet: when the next
 * request may start, and when the backlog will have started at the current limits.
 */
async function rateLimiterStatus(ctx: IngestContext, backlog: number, { enabled, perMinute, perHour, setAtRuntime }: RateLimitsInForce) {
  const limits = { enabled, max_per_min: perMinute, max_per_hour: perHour, set_at_runtime: setAtRuntime, backlog };
  if (!enabled) return { ...limits, next_start_at: iso(Date.now()), clears_at: null };
  const windows = destinationWindows(ctx.config.keyPrefix, perMinute, perHour);
  const starts = await new StartLog(ctx.redis).starts(windows);
  const forecast = forecastStarts(backlog, windows.map((w, i) => ({ cap: w.cap, windowMs: w.windowMs, starts: starts[i] })), spacingMs(perMinute));
  return { ...limits, next_start_at: iso(forecast.nextStartAt), clears_at: iso(forecast.clearsAt) };
}

/** GET /status of ingest: the whole relay, read from Redis, as any replica sees it. */
export function getSystemStatus(ctx: IngestContext) {
  return cachedFor(STATUS_CACHE_MS, async () => {
    const keys = redisKeys(ctx.config.keyPrefix);
    const [signals, forward, counters, topn, [capOverride, limitingSwitched], deliveryPaused, auditBacklog, auditSetAside, screenerPause, refreshPending, lastRefresh] = await Promise.all([
      queueSummary(ctx.signalsQueue),
      queueSummary(ctx.forwardQueue),
      ctx.stats.read(),
      readTopnSet(ctx.redis, ctx.config.keyPrefix),
      ctx.redis.mget(keys.rateCap, keys.rateLimiting),
      ctx.forwardQueue.isPaused(),
      ctx.redis.llen(keys.auditOutbox),
      ctx.redis.llen(keys.auditOutboxFailed),
      readScreenerPause(ctx.redis, ctx.config.keyPrefix),
      screenerRefreshPending(ctx.redis, ctx.config.keyPrefix),
      readScreenerRefreshResult(ctx.redis, ctx.config.keyPrefix),
    ]);
    const deliveriesPending = ['waiting', 'prioritized', 'delayed', 'active'].reduce((sum, state) => sum + (forward.counts[state] ?? 0), 0);
    return {
      service: 'ingest',
      queues: { [QUEUE.signals]: signals.counts, [QUEUE.forward]: forward.counts },
      workers: { approver: signals.workers, forwarder: forward.workers },
      counters,
      approval_rate_percent: percent(counters.approved, counters.approved + counters.rejected),
      forward_success_rate_percent: percent(counters.forwarded, counters.forwarded + counters.dead),
      signals_per_minute: counters.signals_per_minute,
      topn: topn
        ? { count: topn.tickers.length, top_n: topn.top_n, fetched_at: topn.fetched_at, age_sec: Math.round(topnAgeSec(topn) * 10) / 10, stale: isTopnStale(topn, ctx.config.topnMaxAgeSec), snapshot_id: topn.snapshot_id }
        : null,
      // Paused by an operator (POST /admin/screener/pause): nothing is scraped, the set above ages.
      // A refresh asked for (POST /admin/screener/refresh) waits for the leader, and how the last one went (kept an hour).
      screener: { ...pauseState(screenerPause), refresh_pending: refreshPending, last_refresh: publicRefreshResult(lastRefresh) },
      // A cap set at runtime on the forwarder wins over the environment, for every replica.
      rate_limiter: await rateLimiterStatus(ctx, deliveriesPending, limitsFrom(ctx.config, capOverride, limitingSwitched)),
      delivery_paused: deliveryPaused,
      // Entries older than this on arrival are rejected `stale` (0: off; an alert's max_lag overrides it).
      signal_max_lag_sec: ctx.config.signalMaxLagSec,
      signal_ttl_sec: ctx.config.signalTtlSec,
      audit_outbox: auditBacklog,
      audit_outbox_max: ctx.config.auditOutboxMax,
      audit_set_aside: auditSetAside,
      ...webhookAuthStatus(ctx.config),
    };
  });
}

/**
 * /status is public: how the pass went, without its error text, which can carry internal
 * addresses and the first bytes of a Finviz page (the screener's own /status, and its log, have it).
 */
function publicRefreshResult(result: ScreenerRefreshResult | null) {
  if (!result) return null;
  const { error: _error, ...shown } = result;
  return shown;
}

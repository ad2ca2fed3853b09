import { pauseScreener, requestLogger, resumeScreener, unavailableResponse, type HttpRequest, type HttpResponse, type ScreenerPause, type ScreenerPauseChange } from '@tsp/core';
import type { IngestContext } from '../ingest-context';

/**
 * POST /admin/screener/pause and /resume act on every screener replica at once, through one
 * Redis key (core's screener-pause.ts): within 2 s none scrapes, and nothing is published, so
 * the Top-N set ages and BUYs turn `topn_stale` once it passes TOPN_MAX_AGE_SEC. The state
 * outlives restarts. Each handler answers the state before and after for its caller's record.
 */
export function pauseScreenerHandler(ctx: IngestContext) {
  return async (req: HttpRequest<unknown, { reason?: string }>): Promise<HttpResponse> => {
    let change: ScreenerPauseChange;
    try {
      change = await pauseScreener(ctx.redis, ctx.config.keyPrefix, req.principal ?? 'unknown', req.body.reason ?? null);
    } catch {
      return unavailableResponse('Redis is unavailable; the screener was not paused');
    }
    requestLogger(ctx.logger, req.requestId).warn('screener paused for every replica', { by: req.principal, reason: req.body.reason ?? null, already: change.before !== null });
    return { status: 200, body: pauseView(change) };
  };
}

export function resumeScreenerHandler(ctx: IngestContext) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    let change: ScreenerPauseChange;
    try {
      change = await resumeScreener(ctx.redis, ctx.config.keyPrefix);
    } catch {
      return unavailableResponse('Redis is unavailable; the screener was not resumed');
    }
    requestLogger(ctx.logger, req.requestId).info('screener resumed for every replica', { by: req.principal, was_paused: change.before !== null });
    return { status: 200, body: pauseView(change) };
  };
}

/** The state for an answer or /status: paused or not, since when, by whom, why. */
export function pauseState(pause: ScreenerPause | null) {
  return { paused: pause !== null, paused_at: pause?.paused_at ?? null, by: pause?.by ?? null, reason: pause?.reason ?? null };
}

function pauseView({ before, after }: ScreenerPauseChange) {
  return { ...pauseState(after), changed: (before === null) !== (after === null) };
}

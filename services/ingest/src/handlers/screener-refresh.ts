import { errorResponse, readScreenerPause, requestLogger, requestScreenerRefresh, unavailableResponse, type HttpRequest, type HttpResponse } from '@tsp/core';
import type { IngestContext } from '../ingest-context';

/**
 * POST /admin/screener/refresh: asks the leading screener replica, through Redis, to scrape now
 * (core's screener-refresh.ts). Answers 202 once asked; the new set reaches the console as any
 * published set does. Refused (409) while the screener is paused: a paused screener scrapes nothing.
 */
export function refreshScreenerHandler(ctx: IngestContext) {
  return async (req: HttpRequest<unknown, { reason?: string }>): Promise<HttpResponse> => {
    const prefix = ctx.config.keyPrefix;
    try {
      const pause = await readScreenerPause(ctx.redis, prefix);
      if (pause) return errorResponse(409, 'screener_paused', `The screener is paused (since ${pause.paused_at}, by ${pause.by}): resume it first (POST /admin/screener/resume)`);
      const request = await requestScreenerRefresh(ctx.redis, prefix, req.principal ?? 'unknown', req.body.reason ?? null);
      requestLogger(ctx.logger, req.requestId).info(request.already_pending ? 'screener refresh asked while one waits: answered with that one' : 'screener refresh requested', { refresh_id: request.id, by: request.by, reason: request.reason });
      return { status: 202, body: { requested: true, ...request } };
    } catch {
      return unavailableResponse('Redis is unavailable; no refresh was requested');
    }
  };
}

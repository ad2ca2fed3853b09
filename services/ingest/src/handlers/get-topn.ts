import { errorResponse, readTopnSet, topnAgeSec, isTopnStale, type HttpResponse } from '@tsp/core';
import type { IngestContext } from '../ingest-context';

/** GET /finviz/topn — the set approvers decide against, with its age. */
export function getTopn(ctx: IngestContext) {
  return async (): Promise<HttpResponse> => {
    const set = await readTopnSet(ctx.redis, ctx.config.keyPrefix);
    if (!set) return errorResponse(503, 'topn_unavailable', 'No Top-N set has been published yet; signals are rejected until the screener publishes one');
    return {
      status: 200,
      body: {
        tickers: set.tickers,
        top_n: set.top_n,
        fetched_at: set.fetched_at,
        age_sec: Math.round(topnAgeSec(set) * 10) / 10,
        stale: isTopnStale(set, ctx.config.topnMaxAgeSec),
        snapshot_id: set.snapshot_id,
      },
    };
  };
}

import type { HttpRequest, HttpResponse } from '@tsp/core';
import { signalActivity } from '@tsp/db';
import type { IngestContext } from '../ingest-context';
import type { SignalActivityQuery } from '../api-schemas';

const MINUTE_MS = 60_000;

/**
 * GET /admin/stats/signals?minutes= — the last `minutes` whole minutes and the current one, per
 * minute: signals by outcome, delivery attempts and their latency (the console's charts).
 */
export function getSignalActivity(ctx: IngestContext) {
  return async (req: HttpRequest<SignalActivityQuery>): Promise<HttpResponse> => {
    const to = new Date(Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
    const from = new Date(to.getTime() - (req.query.minutes + 1) * MINUTE_MS);
    const minutes = await signalActivity(ctx.searchPool, ctx.config.keyPrefix, from, to);
    return {
      status: 200,
      body: {
        from: from.toISOString(), to: to.toISOString(), bucket_sec: 60,
        minutes: minutes.map((m) => ({ at: m.at.toISOString(), outcomes: m.outcomes, attempts: m.attempts, latency_p50_ms: m.latencyP50Ms, latency_p99_ms: m.latencyP99Ms })),
      },
    };
  };
}

import { destinationWindows, StartLog, unavailableResponse, type HttpResponse, type WindowUse } from '@tsp/core';
import type { IngestContext } from '../ingest-context';
import { rateLimitsInForce } from '../rate-limits';

const windowView = ({ used, cap, windowMs }: WindowUse) => ({ used, cap, window_sec: Math.round(windowMs / 1000) });

/**
 * GET /admin/delivery/cap-use: how much of the destination's cap is used right now, read from the
 * logs of starts the forwarders admit by (core's rate-windows.ts) on Redis's clock: the starts
 * (first tries and retries) in the sliding minute and hour that end now, against each cap. The
 * console shows it beside the cap and polls it.
 */
export function getCapUse(ctx: IngestContext) {
  return async (): Promise<HttpResponse> => {
    try {
      const limits = await rateLimitsInForce(ctx);
      const windows = destinationWindows(ctx.config.keyPrefix, limits.perMinute, limits.perHour);
      const use = await new StartLog(ctx.redis).use(windows);
      const [minute, hour] = use.windows.map(windowView);
      return { status: 200, body: { enabled: limits.enabled, at: new Date(use.at).toISOString(), minute, hour } };
    } catch {
      return unavailableResponse('Redis is unavailable; the cap use cannot be read');
    }
  };
}

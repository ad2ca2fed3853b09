import { z } from 'zod';
import { errorResponse, type HttpRequest, type HttpResponse } from '@tsp/core';
import type { ForwarderContext } from '../forwarder-context';
import { MAX_CAP_PER_MIN } from '../rate-limiter';

export const RateCapSchema = z.object({ max_per_minute: z.number().int().min(1).max(MAX_CAP_PER_MIN) }).strict();

/** GET /admin/rate-limit — the cap in force for every replica. */
export function getRateCap(ctx: ForwarderContext) {
  return (): HttpResponse => ({ status: 200, body: ctx.limiter.state() });
}

/** POST /admin/rate-limit {"max_per_minute": n} — changes the global cap for every replica, now. */
export function setRateCap(ctx: ForwarderContext) {
  return async (req: HttpRequest<unknown, z.infer<typeof RateCapSchema>>): Promise<HttpResponse> => {
    if (!ctx.limiter.state().enabled) {
      return errorResponse(409, 'rate_limiting_disabled', 'DEST_WEBHOOK_RATE_LIMITING_ENABLED is false on this forwarder');
    }
    await ctx.limiter.setMaxPerMinute(req.body.max_per_minute);
    ctx.logger.info('destination rate cap changed', { max_per_minute: req.body.max_per_minute });
    return { status: 200, body: ctx.limiter.state() };
  };
}

import { z } from 'zod';
import { requestLogger, type HttpRequest, type HttpResponse } from '@tsp/core';
import type { ForwarderContext } from '../forwarder-context';
import { MAX_CAP_PER_MIN } from '../rate-limiter';

export const RateLimitChangeSchema = z
  .object({
    max_per_minute: z.number().int().min(1).max(MAX_CAP_PER_MIN).optional(),
    enabled: z.boolean().optional(),
  })
  .strict()
  .refine((change) => change.max_per_minute !== undefined || change.enabled !== undefined, { message: 'send max_per_minute, enabled, or both' });

/** GET /admin/rate-limit — the limits in force for every replica. */
export function getRateCap(ctx: ForwarderContext) {
  return (): HttpResponse => ({ status: 200, body: ctx.limiter.state() });
}

/**
 * POST /admin/rate-limit {"max_per_minute": n, "enabled": bool} — changes the global cap, or
 * switches limiting on or off, for every replica within 2 s; outlives their restarts.
 */
export function setRateCap(ctx: ForwarderContext) {
  return async (req: HttpRequest<unknown, z.infer<typeof RateLimitChangeSchema>>): Promise<HttpResponse> => {
    const before = ctx.limiter.state();
    if (req.body.max_per_minute !== undefined) await ctx.limiter.setMaxPerMinute(req.body.max_per_minute);
    if (req.body.enabled !== undefined) await ctx.limiter.setEnabled(req.body.enabled);
    const after = ctx.limiter.state();
    requestLogger(ctx.logger, req.requestId).warn('destination rate limit changed at runtime', { before, after });
    return { status: 200, body: after };
  };
}

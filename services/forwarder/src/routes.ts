import { adminActionProvider, adminTokenGuard, deadLetterRoutes, type Route } from '@tsp/core';
import type { ForwarderContext } from './forwarder-context';
import { getRateCap, RateCapSchema, setRateCap } from './handlers/rate-cap';
import { pauseDelivery, resumeDelivery } from './handlers/delivery-pause';

/**
 * Admin routes of the forwarder, all behind ADMIN_TOKEN; each that changes state is written to the
 * admin-action log first (Postgres down: 503, nothing done). (/health, /ready, /status, /metrics come from core.)
 */
export function forwarderRoutes(ctx: ForwarderContext): Route[] {
  const guards = [adminTokenGuard(ctx.config.adminToken)];
  const audited = adminActionProvider(ctx.adminActions, ctx.logger);
  const paused = async () => ({ paused: await ctx.forwardQueue.isPaused() });
  const rateCap = () => ctx.limiter.state();
  return [
    { method: 'post', path: '/admin/pause', handler: audited({ action: 'delivery.pause', before: paused })(pauseDelivery(ctx)), guards, body: 'none' },
    { method: 'post', path: '/admin/resume', handler: audited({ action: 'delivery.resume', before: paused })(resumeDelivery(ctx)), guards, body: 'none' },
    { method: 'get', path: '/admin/rate-limit', handler: getRateCap(ctx), guards },
    {
      method: 'post', path: '/admin/rate-limit', handler: audited({ action: 'rate_limit.update', before: rateCap })(setRateCap(ctx)), guards,
      request: RateCapSchema, invalidBody: 'invalid_rate_limit',
    },
    ...deadLetterRoutes(ctx.deadLetters, guards, ctx.logger, (handler) => handler, audited),
  ];
}

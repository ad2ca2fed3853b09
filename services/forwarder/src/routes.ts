import { adminActionProvider, adminTokenGuard, deadLetterRoutes, destinationChangeSchema, type Route } from '@tsp/core';
import { getDestination, resetDestination, setDestination } from './handlers/destination';
import type { ForwarderContext } from './forwarder-context';
import { getRateCap, RateLimitChangeSchema, setRateCap } from './handlers/rate-cap';
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
  const destination = () => ctx.destination?.state() ?? null;
  return [
    { method: 'post', path: '/admin/pause', handler: audited({ action: 'delivery.pause', before: paused })(pauseDelivery(ctx)), guards, body: 'none' },
    { method: 'post', path: '/admin/resume', handler: audited({ action: 'delivery.resume', before: paused })(resumeDelivery(ctx)), guards, body: 'none' },
    { method: 'get', path: '/admin/rate-limit', handler: getRateCap(ctx), guards },
    {
      method: 'post', path: '/admin/rate-limit', handler: audited({ action: 'rate_limit.update', before: rateCap })(setRateCap(ctx)), guards,
      request: RateLimitChangeSchema, invalidBody: 'invalid_rate_limit',
    },
    { method: 'get', path: '/admin/destination', handler: getDestination(ctx), guards },
    {
      method: 'post', path: '/admin/destination', handler: audited({ action: 'destination.update', before: destination })(setDestination(ctx)), guards,
      request: destinationChangeSchema(ctx.config.destAllowedHosts), invalidBody: 'invalid_destination',
    },
    { method: 'delete', path: '/admin/destination', handler: audited({ action: 'destination.reset', before: destination })(resetDestination(ctx)), guards, body: 'none' },
    ...deadLetterRoutes(ctx.deadLetters, guards, ctx.logger, (handler) => handler, audited),
  ];
}

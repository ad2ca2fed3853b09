import { adminTokenGuard, deadLetterRoutes, type Route } from '@tsp/core';
import type { ForwarderContext } from './forwarder-context';
import { getRateCap, RateLimitChangeSchema, setRateCap } from './handlers/rate-cap';
import { pauseDelivery, resumeDelivery } from './handlers/delivery-pause';

/** Admin routes of the forwarder, all behind ADMIN_TOKEN. (/health, /ready, /status, /metrics come from core.) */
export function forwarderRoutes(ctx: ForwarderContext): Route[] {
  const guards = [adminTokenGuard(ctx.config.adminToken)];
  return [
    { method: 'post', path: '/admin/pause', handler: pauseDelivery(ctx), guards, body: 'none' },
    { method: 'post', path: '/admin/resume', handler: resumeDelivery(ctx), guards, body: 'none' },
    { method: 'get', path: '/admin/rate-limit', handler: getRateCap(ctx), guards },
    { method: 'post', path: '/admin/rate-limit', handler: setRateCap(ctx), guards, request: RateLimitChangeSchema, invalidBody: 'invalid_rate_limit' },
    ...deadLetterRoutes(ctx.deadLetters, guards, ctx.logger),
  ];
}

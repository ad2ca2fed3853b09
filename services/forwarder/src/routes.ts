import { adminTokenGuard, deadLetterRoutes, destinationChangeSchema, type Route } from '@tsp/core';
import { getDestination, setDestination } from './handlers/destination';
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
    { method: 'get', path: '/admin/destination', handler: getDestination(ctx), guards },
    { method: 'post', path: '/admin/destination', handler: setDestination(ctx), guards, request: destinationChangeSchema(ctx.config.destAllowedHosts), invalidBody: 'invalid_destination' },
    ...deadLetterRoutes(ctx.deadLetters, guards, ctx.logger),
  ];
}

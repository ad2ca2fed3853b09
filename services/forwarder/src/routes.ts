import { adminTokenGuard, type Route } from '@tsp/core';
import type { ForwarderContext } from './forwarder-context';
import { listDead, replayAllDead, replayDead } from '@tsp/db';
import { getRateCap, RateCapSchema, setRateCap } from './handlers/rate-cap';
import { pauseDelivery, resumeDelivery } from './handlers/delivery-pause';

/** Admin routes of the forwarder, all behind ADMIN_TOKEN. (/health, /ready, /status, /metrics come from core.) */
export function forwarderRoutes(ctx: ForwarderContext): Route[] {
  const guards = [adminTokenGuard(ctx.config.adminToken)];
  return [
    { method: 'post', path: '/admin/pause', handler: pauseDelivery(ctx), guards, body: 'none' },
    { method: 'post', path: '/admin/resume', handler: resumeDelivery(ctx), guards, body: 'none' },
    { method: 'get', path: '/admin/rate-limit', handler: getRateCap(ctx), guards },
    { method: 'post', path: '/admin/rate-limit', handler: setRateCap(ctx), guards, request: RateCapSchema, invalidBody: 'invalid_rate_limit' },
    { method: 'get', path: '/admin/dead', handler: listDead(ctx), guards },
    { method: 'post', path: '/admin/dead/replay-all', handler: replayAllDead(ctx), guards, body: 'none' },
    { method: 'post', path: '/admin/dead/:id/replay', handler: replayDead(ctx), guards, body: 'none' },
  ];
}

import { adminGuard, type Route } from '@tsp/core';
import type { ForwarderContext } from './forwarder-context';
import { listDead, replayAllDead, replayDead } from '@tsp/db';
import { getRateCap, setRateCap } from './handlers/rate-cap';
import { pauseDelivery, resumeDelivery } from './handlers/delivery-pause';

/** Admin routes of the forwarder, all behind ADMIN_TOKEN. (/health, /ready, /status, /metrics come from core.) */
export function forwarderRoutes(ctx: ForwarderContext): Route[] {
  const guard = adminGuard(ctx.config.adminToken);
  return [
    { method: 'post', path: '/admin/pause', handler: pauseDelivery(ctx), guard, body: 'none' },
    { method: 'post', path: '/admin/resume', handler: resumeDelivery(ctx), guard, body: 'none' },
    { method: 'get', path: '/admin/rate-limit', handler: getRateCap(ctx), guard },
    { method: 'post', path: '/admin/rate-limit', handler: setRateCap(ctx), guard },
    { method: 'get', path: '/admin/dead', handler: listDead(ctx), guard },
    { method: 'post', path: '/admin/dead/replay-all', handler: replayAllDead(ctx), guard, body: 'none' },
    { method: 'post', path: '/admin/dead/:id/replay', handler: replayDead(ctx), guard, body: 'none' },
  ];
}

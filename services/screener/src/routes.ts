import { adminTokenGuard, type Config, type Route } from '@tsp/core';
import type { ScreenerLoop } from './screener-loop';

/** Admin routes of the screener. (/health, /ready, /status, /metrics come from core.) */
export function screenerRoutes(config: Config, loop: ScreenerLoop, state: () => Promise<unknown>): Route[] {
  const admin = [adminTokenGuard(config.adminToken)];
  return [
    {
      // Scrape now instead of at the next tick (after a config fix, or to check a block is over).
      // A follower answers outcome "not_leader"; during a Retry-After, "deferred".
      method: 'post',
      path: '/admin/refresh',
      guards: admin,
      body: 'none',
      handler: async () => ({ status: 200, body: await loop.refreshNow() }),
    },
    {
      // Leader or not, last fetch outcome, back-off, next fetch, settings in use.
      method: 'get',
      path: '/admin/state',
      guards: admin,
      handler: async () => ({ status: 200, body: await state() }),
    },
  ];
}

import { adminGuard, type Config, type Route } from '@tsp/core';
import type { ScreenerLoop } from './screener-loop';

/** Admin routes of the screener. (/health, /ready, /status, /metrics come from core.) */
export function screenerRoutes(config: Config, loop: ScreenerLoop): Route[] {
  return [
    {
      // Scrape now instead of at the next tick (after a config fix, or to check a block is over).
      method: 'post',
      path: '/admin/refresh',
      guard: adminGuard(config.adminToken),
      body: 'none',
      handler: async () => ({ status: 200, body: await loop.refreshNow() }),
    },
  ];
}

import { adminGuard, type Config, type Route } from '@tsp/core';
import type { Worker } from 'bullmq';

/** Admin routes of the forwarder. (/health, /ready, /status, /metrics come from core.) */
export function forwarderRoutes(config: Config, worker: () => Worker | null): Route[] {
  const guard = adminGuard(config.adminToken);
  const noDestination = { status: 409, body: { error: 'no_destination', message: 'DEST_WEBHOOK_URL is not set; this forwarder delivers nothing' } };
  return [
    {
      method: 'post',
      path: '/admin/pause',
      guard,
      body: 'none',
      handler: async () => {
        const running = worker();
        if (!running) return noDestination;
        // Pausing waits for in-flight deliveries to finish; queued signals stay queued.
        await running.pause();
        return { status: 200, body: { paused: true } };
      },
    },
    {
      method: 'post',
      path: '/admin/resume',
      guard,
      body: 'none',
      handler: async () => {
        const running = worker();
        if (!running) return noDestination;
        running.resume();
        return { status: 200, body: { paused: false } };
      },
    },
  ];
}

import type { HttpResponse } from '@tsp/core';
import type { IngestContext } from '../ingest-context';

/**
 * POST /admin/delivery/pause and /resume — what the forwarder's /admin/pause and /resume do, from
 * the console's own origin: they act on the `forward` queue, so every forwarder replica stops (or
 * restarts) taking deliveries. In-flight deliveries finish; approved signals stay queued.
 */
export function pauseDelivery(ctx: IngestContext) {
  return async (): Promise<HttpResponse> => {
    await ctx.forwardQueue.pause();
    ctx.logger.warn('delivery paused for every forwarder replica');
    return { status: 200, body: { paused: true } };
  };
}

export function resumeDelivery(ctx: IngestContext) {
  return async (): Promise<HttpResponse> => {
    await ctx.forwardQueue.resume();
    ctx.logger.info('delivery resumed');
    return { status: 200, body: { paused: false } };
  };
}

import type { HttpResponse } from '@tsp/core';
import type { ForwarderContext } from '../forwarder-context';

/**
 * POST /admin/pause and /admin/resume act on the queue, not this process: every replica stops
 * (or restarts) taking deliveries. In-flight deliveries finish; queued signals stay queued.
 */
export function pauseDelivery(ctx: ForwarderContext) {
  return async (): Promise<HttpResponse> => {
    await ctx.forwardQueue.pause();
    ctx.logger.warn('delivery paused for every forwarder replica');
    return { status: 200, body: { paused: true } };
  };
}

export function resumeDelivery(ctx: ForwarderContext) {
  return async (): Promise<HttpResponse> => {
    await ctx.forwardQueue.resume();
    ctx.logger.info('delivery resumed');
    return { status: 200, body: { paused: false } };
  };
}

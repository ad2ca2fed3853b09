import type { Queue } from 'bullmq';
import type { HttpResponse } from './http-route';
import type { Logger } from './logger';

/** What pausing delivery needs: the `forward` queue and a logger (ingest's and the forwarder's contexts have both). */
export interface DeliveryPauseDeps {
  forwardQueue: Pick<Queue, 'pause' | 'resume'>;
  logger: Logger;
}

/**
 * Pausing acts on the `forward` queue, not on one process: every forwarder replica stops (or
 * restarts) taking deliveries. In-flight deliveries finish; approved signals stay queued. The
 * forwarder serves it as POST /admin/pause and /resume, ingest as /admin/delivery/pause and /resume
 * (the console's origin).
 */
export function pauseDelivery(deps: DeliveryPauseDeps) {
  return async (): Promise<HttpResponse> => {
    await deps.forwardQueue.pause();
    deps.logger.warn('delivery paused for every forwarder replica');
    return { status: 200, body: { paused: true } };
  };
}

export function resumeDelivery(deps: DeliveryPauseDeps) {
  return async (): Promise<HttpResponse> => {
    await deps.forwardQueue.resume();
    deps.logger.info('delivery resumed');
    return { status: 200, body: { paused: false } };
  };
}

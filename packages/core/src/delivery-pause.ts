import type { Queue } from 'bullmq';
import type { HttpRequest, HttpResponse } from './http-route';
import type { Logger } from './logger';
import { requestLogger } from './request-id';

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
  return async (req: HttpRequest): Promise<HttpResponse> => {
    await deps.forwardQueue.pause();
    requestLogger(deps.logger, req.requestId).warn('delivery paused for every forwarder replica');
    return { status: 200, body: { paused: true } };
  };
}

export function resumeDelivery(deps: DeliveryPauseDeps) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    await deps.forwardQueue.resume();
    requestLogger(deps.logger, req.requestId).info('delivery resumed');
    return { status: 200, body: { paused: false } };
  };
}

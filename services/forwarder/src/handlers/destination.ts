import { errorResponse, requestLogger, type DestinationChange, type HttpRequest, type HttpResponse } from '@tsp/core';
import type { ForwarderContext } from '../forwarder-context';

const noDestination = () => errorResponse(409, 'no_destination', 'DEST_WEBHOOK_URL is not set on this forwarder: there is no destination to show or change');

/** GET /admin/destination — where deliveries go: origin, a fingerprint of the whole URL, timeout, source. */
export function getDestination(ctx: ForwarderContext) {
  return (): HttpResponse => (ctx.destination ? { status: 200, body: ctx.destination.state() } : noDestination());
}

/**
 * POST /admin/destination {"url", "timeout_ms"} — moves deliveries for every replica within 2 s,
 * from their next request on; stored in Postgres, so it outlives restarts of everything.
 */
export function setDestination(ctx: ForwarderContext) {
  return async (req: HttpRequest<unknown, DestinationChange>): Promise<HttpResponse> => {
    if (!ctx.destination) return noDestination();
    const { before, after } = await ctx.destination.change(req.body);
    requestLogger(ctx.logger, req.requestId).warn('destination changed at runtime', { before, after });
    return { status: 200, body: after };
  };
}

/** DELETE /admin/destination — forgets the runtime destination: the environment's applies again, on every replica within 2 s. */
export function resetDestination(ctx: ForwarderContext) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    if (!ctx.destination) return noDestination();
    const { before, after } = await ctx.destination.reset();
    requestLogger(ctx.logger, req.requestId).warn('runtime destination reset to the environment\'s', { before, after });
    return { status: 200, body: after };
  };
}

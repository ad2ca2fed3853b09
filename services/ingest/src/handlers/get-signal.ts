import { errorResponse, SignalJobSchema, type HttpRequest, type HttpResponse } from '@tsp/core';
import type { IngestContext } from '../ingest-context';
import { viewOfQueuedJob, viewOfRow } from '../signal-view';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** GET /signals/:id — from the audit trail, or from the queue while it awaits its decision. */
export function getSignal(ctx: IngestContext) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    const { id } = req.params;
    if (!UUID.test(id)) return errorResponse(400, 'invalid_id', 'Signal ids are UUIDs');
    const row = await ctx.prisma.signal.findUnique({ where: { id }, include: { deliveries: true } });
    if (row) return { status: 200, body: viewOfRow(row) };
    const job = await ctx.signalsQueue.getJob(id);
    const parsed = job ? SignalJobSchema.safeParse(job.data) : null;
    if (parsed?.success) return { status: 200, body: viewOfQueuedJob(parsed.data) };
    return errorResponse(404, 'not_found', `No signal ${id}`);
  };
}

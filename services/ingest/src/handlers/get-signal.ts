import { DECISION_FIELD, DecisionSchema, errorResponse, redisKeys, requestLogger, SignalJobSchema, unavailableResponse, type HttpRequest, type HttpResponse } from '@tsp/core';
import { findJudgedSnapshot, findSignalDetail, type SignalDetail } from '@tsp/db';
import type { IngestContext } from '../ingest-context';
import { viewOfQueuedJob } from '../signal-view';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * GET /signals/:id — from the audit trail; before its row is written (awaiting its decision, or
 * decided while Postgres was down), from the job and the decision kept in Redis.
 */
export function getSignal(ctx: IngestContext) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    const { id } = req.params;
    if (!UUID.test(id)) return errorResponse(400, 'invalid_id', 'Signal ids are UUIDs');
    let postgresDown = false;
    try {
      const detail = await findSignalDetail(ctx.prisma, id);
      if (detail) return { status: 200, body: detail };
    } catch (error) {
      postgresDown = true;
      requestLogger(ctx.logger, req.requestId).warn('reading a signal from Postgres failed; answering from Redis', { id, error: (error as Error).message });
    }
    const job = await ctx.signalsQueue.getJob(id);
    const parsed = job ? SignalJobSchema.safeParse(job.data) : null;
    if (parsed?.success) {
      const view: SignalDetail = { ...viewOfQueuedJob(parsed.data), received_body: parsed.data.receivedBody ?? null, snapshot: null };
      const stored = await ctx.redis.hget(redisKeys(ctx.config.keyPrefix).decision(id), DECISION_FIELD.decision);
      const decision = stored ? DecisionSchema.safeParse(JSON.parse(stored)) : null;
      if (!decision?.success) return { status: 200, body: view };
      const d = decision.data;
      const snapshot = postgresDown ? null : await findJudgedSnapshot(ctx.prisma, d.snapshotId, view.ticker).catch(() => null);
      return {
        status: 200,
        body: { ...view, status: d.approved ? 'approved' : 'rejected', reason: d.approved ? null : d.reason, basis: d.approved ? d.basis : null, rank: d.rank, snapshot_id: d.snapshotId, snapshot },
      };
    }
    if (postgresDown) return unavailableResponse('Postgres is unavailable; try again shortly');
    return errorResponse(404, 'not_found', `No signal ${id}`);
  };
}

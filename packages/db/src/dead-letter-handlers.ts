import { errorResponse, type HttpRequest, type HttpResponse, type Logger } from '@tsp/core';
import type { PrismaClient } from '../generated/client';
import { listDeadSignals, replayDeadSignal, type ForwardQueueLike } from './dead-letters';
import { viewOfSignalRow } from './signal-view';

/**
 * The dead-letter admin handlers, served by the forwarder and by ingest's admin API alike: both
 * act on the same audit rows and the same `forward` queue.
 */
export interface DeadLetterDeps {
  prisma: PrismaClient;
  forwardQueue: ForwardQueueLike;
  config: { forwardMaxAttempts: number };
  logger: Logger;
}

const REPLAY_ALL_BATCH = 500;

/** GET /admin/dead?limit= — dead deliveries, most recent first, with every attempt. */
export function listDead(ctx: DeadLetterDeps) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    const limit = req.query.limit ? Number(req.query.limit) : 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) return errorResponse(400, 'invalid_limit', 'limit must be a whole number from 1 to 500');
    const rows = await listDeadSignals(ctx.prisma, limit);
    return { status: 200, body: { items: rows.map(viewOfSignalRow) } };
  };
}

/** POST /admin/dead/:id/replay — delivers a dead signal again, with the same Idempotency-Key. */
export function replayDead(ctx: DeadLetterDeps) {
  return async (req: HttpRequest): Promise<HttpResponse> => {
    const { id } = req.params;
    const outcome = await replayDeadSignal(ctx.prisma, ctx.forwardQueue, id, ctx.config.forwardMaxAttempts).catch((error: Error) => {
      if (/uuid/i.test(error.message)) return 'not_found' as const;
      throw error;
    });
    if (outcome === 'not_found') return errorResponse(404, 'not_found', `No signal ${id}`);
    if (outcome === 'not_dead') return errorResponse(409, 'not_dead', `Signal ${id} is not dead; only dead deliveries can be replayed`);
    ctx.logger.info('dead delivery replayed', { id });
    return { status: 202, body: { id, status: 'approved' } };
  };
}

/** POST /admin/dead/replay-all — replays every dead signal (up to 500 per call). */
export function replayAllDead(ctx: DeadLetterDeps) {
  return async (): Promise<HttpResponse> => {
    const rows = await listDeadSignals(ctx.prisma, REPLAY_ALL_BATCH);
    const replayed: string[] = [];
    for (const row of rows) {
      if ((await replayDeadSignal(ctx.prisma, ctx.forwardQueue, row.id, ctx.config.forwardMaxAttempts)) === 'replayed') replayed.push(row.id);
    }
    ctx.logger.info(`replayed ${replayed.length} dead deliveries`);
    return { status: 202, body: { ids: replayed, more: rows.length === REPLAY_ALL_BATCH } };
  };
}

import { z } from 'zod';
import { errorResponse, type Guard, type Handler, type HttpRequest, type HttpResponse, type Route } from './http-route';
import type { AdminActionSpec } from './admin-actions';
import type { Logger } from './logger';
import { requestLogger } from './request-id';

/** A dead delivery as the admin API lists it: the signal's view (see the contract's GET /signals/:id). */
export interface DeadLetterView {
  id: string;
}

export type ReplayOutcome =
  /** `deadReason`: why it had died (the admin-action log's "before"). */
  | { outcome: 'replayed'; deadReason: string | null }
  | { outcome: 'not_found' }
  | { outcome: 'not_dead' }
  /**
   * Replaying now would reach the broker out of order: a later signal of the ticker was
   * delivered or is still on its way, or an earlier dead one of the ticker has not been replayed.
   */
  | { outcome: 'out_of_order'; laterSignalId?: string; laterReceivedAt?: string; earlierSignalId?: string }
  /** An entry that died of old age: replay-all leaves it alone (replay it by itself if you mean it). */
  | { outcome: 'expired' }
  /** Received longer ago than SIGNAL_TTL_SEC: replaying would send an old trade, so only with force. */
  | { outcome: 'past_ttl'; ageSec: number; ttlSec: number };

/** Where dead letters are kept and how one is sent again; packages/db implements it over Postgres and the forward queue. */
export interface DeadLetterStore {
  /** Most recently dead first. */
  list(limit: number): Promise<DeadLetterView[]>;
  /** The ones replay-all may send, oldest received first (their order at the broker). */
  replayable(limit: number): Promise<DeadLetterView[]>;
  replay(signalId: string, options: { force: boolean; includeExpired: boolean }): Promise<ReplayOutcome>;
}

const REPLAY_ALL_BATCH = 500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const DeadListQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100) });
const ReplayAcceptedSchema = z.object({
  id: z.uuid(),
  status: z.literal('approved'),
  force: z.boolean(),
  was: z.object({ status: z.literal('dead'), reason: z.string().nullable() }).describe('the signal before the replay'),
});

/** The admin-action log's before/after of a replay: the signal's status. */
function replayedState(_req: HttpRequest, res: HttpResponse) {
  const body = res.body as z.infer<typeof ReplayAcceptedSchema>;
  return { before: body.was, after: { status: body.status, force: body.force } };
}
const ReplayAllAcceptedSchema = z.object({
  ids: z.array(z.uuid()),
  skipped: z.array(z.object({ id: z.uuid(), reason: z.enum(['not_found', 'not_dead', 'out_of_order', 'expired', 'past_ttl']), later_signal_id: z.uuid().optional(), earlier_signal_id: z.uuid().optional() })),
  more: z.boolean(),
});
const DeadListSchema = z.object({ items: z.array(z.looseObject({ id: z.uuid() }).describe("each as GET /signals/:id shows a signal")) });

export const ReplayQuerySchema = z.object({
  force: z.enum(['true', 'false']).default('false').describe('true: replay even though a later signal of the ticker was delivered, or the signal is older than SIGNAL_TTL_SEC'),
});
/** The same `force`, as a JSON body: {"force": true}. */
export const ReplayBodySchema = z.object({
  force: z.boolean().optional().describe('as the query parameter force=true'),
}).strict();

/** The answer to a replay that did not happen. */
function refusal(id: string, result: Exclude<ReplayOutcome, { outcome: 'replayed' }>): HttpResponse {
  switch (result.outcome) {
    case 'not_found':
      return errorResponse(404, 'not_found', `No signal ${id}`);
    case 'not_dead':
      return errorResponse(409, 'not_dead', `Signal ${id} is not dead; only dead deliveries can be replayed`);
    case 'out_of_order':
      return result.earlierSignalId
        ? errorResponse(409, 'out_of_order', `Signal ${result.earlierSignalId} of the same ticker, received before this one, is dead and not replayed; replay it first (or send force=true)`, [
          { earlier_signal_id: result.earlierSignalId },
        ])
        : errorResponse(409, 'out_of_order', `Signal ${result.laterSignalId} of the same ticker, received after this one, was delivered or is on its way; replaying ${id} now would reach the broker out of order. Send force=true to replay it anyway`, [
          { later_signal_id: result.laterSignalId, ...(result.laterReceivedAt ? { later_received_at: result.laterReceivedAt } : {}) },
        ]);
    case 'expired':
      return errorResponse(409, 'expired', `Signal ${id} died of old age (SIGNAL_TTL_SEC)`);
    case 'past_ttl':
      return errorResponse(409, 'past_ttl', `Signal ${id} was received ${result.ageSec} s ago, longer than SIGNAL_TTL_SEC (${result.ttlSec} s): replaying it would send an old trade. Send {"force": true} (or force=true) to replay it anyway`, [
        { age_sec: result.ageSec, ttl_sec: result.ttlSec },
      ]);
  }
}

/** Wraps a state-changing handler so it is written to the admin-action log (see admin-actions.ts). */
export type Audited = (spec: AdminActionSpec) => (handler: Handler) => Handler;

/**
 * The dead-letter admin routes, served by the forwarder and by ingest alike (both act on the same
 * audit rows and the same `forward` queue): list, replay one, replay all. `wrap` composes what the
 * serving service needs around each handler (ingest: Postgres outages answer 503); `audited` logs
 * the replays as admin actions.
 */
export function deadLetterRoutes(store: DeadLetterStore, guards: Guard[], logger: Logger, wrap: (handler: Handler) => Handler, audited: Audited): Route[] {
  const list: Handler = async (req: HttpRequest<z.infer<typeof DeadListQuerySchema>>) => ({ status: 200, body: { items: await store.list(req.query.limit) } });
  const replayOne: Handler = async (req: HttpRequest<z.infer<typeof ReplayQuerySchema>, z.infer<typeof ReplayBodySchema>>) => {
    const { id } = req.params;
    if (!UUID.test(id)) return errorResponse(404, 'not_found', `No signal ${id}`);
    // One by one, an operator chooses each signal, an expired entry included.
    const force = req.query.force === 'true' || req.body?.force === true;
    const result = await store.replay(id, { force, includeExpired: true });
    if (result.outcome !== 'replayed') return refusal(id, result);
    requestLogger(logger, req.requestId).info('dead delivery replayed', { id, by: req.principal });
    return { status: 202, body: { id, status: 'approved', force, was: { status: 'dead', reason: result.deadReason } } };
  };
  const replayAll: Handler = async (req) => {
    // Oldest first: each replay joins the end of its ticker's order, so this is the order the broker sees.
    const dead = await store.replayable(REPLAY_ALL_BATCH);
    const replayed: string[] = [];
    const skipped: { id: string; reason: string; later_signal_id?: string; earlier_signal_id?: string }[] = [];
    for (const { id } of dead) {
      const result = await store.replay(id, { force: false, includeExpired: false });
      if (result.outcome === 'replayed') replayed.push(id);
      else if (result.outcome === 'out_of_order') skipped.push({ id, reason: result.outcome, ...(result.laterSignalId ? { later_signal_id: result.laterSignalId } : {}), ...(result.earlierSignalId ? { earlier_signal_id: result.earlierSignalId } : {}) });
      else skipped.push({ id, reason: result.outcome });
    }
    requestLogger(logger, req.requestId).info(`replayed ${replayed.length} dead deliveries`, { skipped: skipped.length, by: req.principal });
    return { status: 202, body: { ids: replayed, skipped, more: dead.length === REPLAY_ALL_BATCH } };
  };
  const unavailable = { 503: 'Postgres down (Retry-After)' };
  return [
    {
      method: 'get', path: '/admin/dead', handler: wrap(list), guards, query: DeadListQuerySchema,
      docs: { summary: 'Dead deliveries, most recent first, with every attempt', ok: { status: 200, body: DeadListSchema, description: 'dead letters' }, errors: { 400: 'invalid limit', 401: 'admin credentials required', ...unavailable } },
    },
    {
      method: 'post', path: '/admin/dead/replay-all', handler: wrap(audited({ action: 'dead_letter.replay_all' })(replayAll)), guards, body: 'none',
      docs: { summary: 'Replay the dead deliveries, oldest first, except expired entries and any that would reach the broker out of order (up to 500 a call), same Idempotency-Keys', ok: { status: 202, body: ReplayAllAcceptedSchema, description: 'replayed ids, the ones skipped and why; more=true when more remain' }, errors: { 401: 'admin credentials required', ...unavailable } },
    },
    {
      method: 'post', path: '/admin/dead/:id/replay', guards, query: ReplayQuerySchema, request: ReplayBodySchema, limit: '1kb',
      handler: wrap(audited({ action: 'dead_letter.replay', target: (req) => (UUID.test(req.params.id) ? req.params.id : null), change: replayedState })(replayOne)),
      docs: { summary: 'Replay one dead delivery with the same Idempotency-Key (at the end of its ticker\'s order)', ok: { status: 202, body: ReplayAcceptedSchema, description: 'queued for delivery again' }, errors: { 400: 'invalid force', 401: 'admin credentials required', 404: 'no such signal', 409: 'not dead; out of order (a later signal of the ticker was delivered or is on its way, or an earlier dead one waits); or past_ttl, received longer ago than SIGNAL_TTL_SEC. force (query force=true or body {"force": true}) overrides out_of_order and past_ttl', ...unavailable } },
    },
  ];
}

import { z } from 'zod';
import { SAFE_REQUEST_ID } from './request-id';

/** What crosses a process boundary: validated on both sides with these schemas. */

/** A stored JSON value read through its schema: null when it is not JSON or not of that shape. */
export function parseJsonWith<T>(schema: z.ZodType<T>, raw: string): T | null {
  try {
    const parsed = schema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export const SideSchema = z.enum(['BUY', 'SELL']);
export type Side = z.infer<typeof SideSchema>;

export const SignalKindSchema = z.enum(['source', 'manual']);
export type SignalKind = z.infer<typeof SignalKindSchema>;

/** The body POSTed to the destination: normalised fields plus the source's passthrough fields. */
export const OutboundBodySchema = z
  .object({
    ticker: z.string(),
    side: SideSchema,
    action: z.string(),
    price: z.number().positive().optional(),
    time: z.string(),
  })
  .catchall(z.unknown());
export type OutboundBody = z.infer<typeof OutboundBodySchema>;

/** A job on the `signals` queue: one accepted signal awaiting its decision. */
export const SignalJobSchema = z.object({
  id: z.uuid(),
  kind: SignalKindSchema,
  ticker: z.string(),
  side: SideSchema,
  action: z.string(),
  price: z.number().positive().optional(),
  time: z.string(),
  receivedAt: z.string(),
  /** Seconds between the alert's own `time` and its arrival; absent when the alert gave no time (it is then not judged for lag). */
  lagSec: z.number().optional(),
  /** The alert's own `max_lag` (seconds), overriding SIGNAL_MAX_LAG_SEC; 0 turns the guard off for it. */
  maxLagSec: z.number().nonnegative().optional(),
  idempotencyKey: z.string().optional(),
  body: OutboundBodySchema,
  /** The JSON object as the sender posted it, without `secret` (never kept); absent for manual exits, which nobody posted. */
  receivedBody: z.record(z.string(), z.unknown()).optional(),
  /**
   * The X-Request-Id of the request that brought the signal in, so the approver's and the
   * forwarder's log lines about it carry the same `request_id`. Absent in jobs an older ingest
   * queued; one that is not a safe id is dropped, never a reason to reject the signal.
   */
  requestId: z.string().regex(SAFE_REQUEST_ID).optional().catch(undefined),
});
export type SignalJob = z.infer<typeof SignalJobSchema>;

/** `stale`: an entry older than its allowed lag on arrival; `malformed`: a job that failed its schema (recorded, never dropped). */
export const RejectReasonSchema = z.enum(['not_in_topn', 'topn_stale', 'topn_unavailable', 'no_open_position', 'stale', 'malformed']);
export type RejectReason = z.infer<typeof RejectReasonSchema>;

export const ApprovalBasisSchema = z.enum(['topn', 'open_position', 'manual', 'late_topn']);
export type ApprovalBasis = z.infer<typeof ApprovalBasisSchema>;

export const DecisionSchema = z.discriminatedUnion('approved', [
  z.object({
    approved: z.literal(true),
    basis: ApprovalBasisSchema,
    rank: z.number().int().positive().nullable(),
    snapshotId: z.string().nullable(),
  }),
  z.object({
    approved: z.literal(false),
    reason: RejectReasonSchema,
    rank: z.number().int().positive().nullable(),
    snapshotId: z.string().nullable(),
  }),
]);
export type Decision = z.infer<typeof DecisionSchema>;

/** A job on the `forward` queue: an approved signal to deliver. Its job id is the signal id. */
export const ForwardJobSchema = z.object({
  signal: SignalJobSchema,
  basis: ApprovalBasisSchema,
  rank: z.number().int().positive().nullable(),
  snapshotId: z.string().nullable(),
  /** Set when an operator replays a dead delivery: the TTL counts from here, not from receipt. */
  replayedAt: z.string().optional(),
  /** Attempts recorded before the replay, so attempt numbers in the audit trail keep counting up. */
  attemptOffset: z.number().int().nonnegative().optional(),
  /**
   * The signal headed its ticker's lane when the approver handed it off: nothing earlier was still
   * on its way, and nothing earlier can join a lane later, so it heads it until it ends and an
   * entry need not ask again (ticker-lane.ts).
   */
  laneHead: z.boolean().optional(),
});
export type ForwardJob = z.infer<typeof ForwardJobSchema>;

/** The Top-N set the screener publishes at `<prefix>:topn`. */
export const TopnSetSchema = z.object({
  tickers: z.array(z.string()),
  top_n: z.number().int().positive(),
  fetched_at: z.string(),
  snapshot_id: z.string(),
  source: z.string(),
  /** Tickers read twice across page boundaries (the list moved between page requests) and dropped. */
  duplicates_dropped: z.number().int().nonnegative().optional(),
});
export type TopnSet = z.infer<typeof TopnSetSchema>;

export const SignalStatusSchema = z.enum(['queued', 'approved', 'rejected', 'forwarded', 'retrying', 'dead']);
export type SignalStatus = z.infer<typeof SignalStatusSchema>;

export const DeadReasonSchema = z.enum(['expired', 'permanent_error', 'attempts_exhausted']);
export type DeadReason = z.infer<typeof DeadReasonSchema>;

/** The error body every route answers with. */
export const ErrorSchema = z.object({
  error: z.string().describe('machine-readable code, e.g. invalid_signal'),
  message: z.string(),
  details: z.array(z.unknown()).optional(),
});
export type ErrorBody = z.infer<typeof ErrorSchema>;

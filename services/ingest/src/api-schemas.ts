import { z } from 'zod';
import { ADMIN_ACTION_OUTCOMES, DeadReasonSchema, RejectReasonSchema, ApprovalBasisSchema, parseTicker, ScreenerRefreshRequestSchema, SideSchema, SignalKindSchema, SignalStatusSchema } from '@tsp/core';
import type { SignalFilter } from '@tsp/db';
import { STREAM_ID } from './live/sse-frames';

/**
 * The shapes of ingest's public API (contract section 4), as zod schemas: the OpenAPI document
 * at GET /openapi.json is generated from these, so it cannot drift from a hand-written copy.
 */

export const WebhookInSchema = z
  .object({
    ticker: z.string().describe('NASDAQ:AAPL → AAPL; BRK.B or BRK/B → BRK-B; then ^[A-Z0-9]{1,10}(-[A-Z0-9]{1,4})?$'),
    side: z.string().optional().describe('BUY/SELL (any case); long/enter/add → BUY, short/exit/close/flat → SELL'),
    action: z.string().optional().describe('buy, sell, exit, cancel, add or a side word; must agree with side; gives the side when there is none (TradingView {{strategy.order.action}})'),
    price: z.union([z.number(), z.string()]).nullable().optional().describe('finite and > 0; null means none'),
    time: z.union([z.string(), z.number()]).optional().describe('ISO-8601 or epoch seconds/ms, 2000-01-01 to a day after arrival; default now. Send {{timenow}}'),
    max_lag: z.union([z.number().int(), z.string()]).optional().describe('seconds: an entry whose time is older than this on arrival is rejected stale (overrides SIGNAL_MAX_LAG_SEC; 0 = off)'),
    id: z.string().max(1024).optional().describe('idempotency key, like the Idempotency-Key header'),
    secret: z.string().optional().describe('WEBHOOK_SECRET; never stored or forwarded'),
  })
  .catchall(z.unknown())
  .describe('Other fields pass through unchanged to the destination.');

export const AcceptedSchema = z.object({ id: z.uuid(), status: z.enum(['queued', 'duplicate']) });

export const DeliveryViewSchema = z.object({
  attempt: z.number().int(),
  at: z.string(),
  http_status: z.number().int().nullable(),
  latency_ms: z.number().int(),
  error: z.string().nullable(),
});

export const SignalViewSchema = z.object({
  id: z.uuid(),
  kind: SignalKindSchema,
  ticker: z.string(),
  side: z.enum(['BUY', 'SELL']),
  price: z.number().nullable(),
  time: z.string(),
  received_at: z.string(),
  status: SignalStatusSchema,
  reason: z.union([RejectReasonSchema, DeadReasonSchema]).nullable(),
  basis: ApprovalBasisSchema.nullable(),
  rank: z.number().int().nullable(),
  snapshot_id: z.string().nullable(),
  deliveries: z.array(DeliveryViewSchema),
});

export const SignalDetailSchema = SignalViewSchema.extend({
  received_body: z.record(z.string(), z.unknown()).nullable().describe('the JSON object as the sender posted it, without `secret` (never stored); null for manual exits and signals recorded before tsp kept it'),
  snapshot: z.object({
    snapshot_id: z.string(),
    fetched_at: z.string(),
    top_n: z.number().int(),
    source: z.string().describe('the host the set was read from'),
    tickers: z.array(z.object({ rank: z.number().int(), ticker: z.string(), is_signal_ticker: z.boolean().describe("true for this signal's ticker") })).describe('ranked, as on the screener page'),
  }).nullable().describe('the Top-N set it was judged on (for a late approval: the set that admitted it); null when judged without one'),
});

const isoTime = z.iso.datetime({ offset: true });

/** A ticker given by an operator, read by the one ticker rule (as /webhook/in reads one): `nasdaq:brk.b` → `BRK-B`. */
function tickerSchema(description: string) {
  return z.string().max(40).transform((raw, ctx) => {
    const parsed = parseTicker(raw);
    if (parsed.ok) return parsed.ticker;
    ctx.addIssue({ code: 'custom', message: parsed.message });
    return z.NEVER;
  }).describe(description);
}

/** The filters of GET /signals, which the exports share. */
export const SignalFilterQuerySchema = z.strictObject({
  status: SignalStatusSchema.optional().describe('queued: signals still awaiting their decision, read from the queue'),
  ticker: tickerSchema('as /webhook/in reads it: brk.b → BRK-B').optional(),
  side: z.string().trim().toUpperCase().pipe(SideSchema).optional().describe('BUY or SELL'),
  reason: z.union([RejectReasonSchema, DeadReasonSchema]).optional().describe('why it was rejected or is dead (exact, lower case)'),
  kind: SignalKindSchema.optional().describe('source: posted to /webhook/in; manual: a /sell/* exit'),
  from: isoTime.optional().describe('received at or after (ISO-8601)'),
  to: isoTime.optional().describe('received at or before (ISO-8601)'),
});

export const SignalListQuerySchema = SignalFilterQuerySchema.extend({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional().describe('next_cursor of the previous page'),
});
export type SignalListQuery = z.infer<typeof SignalListQuerySchema>;

/** GET /signals.csv and /signals.ndjson: the filters of /signals (no limit or cursor: every page). */
export const SignalExportQuerySchema = SignalFilterQuerySchema;
export type SignalExportQuery = z.infer<typeof SignalExportQuerySchema>;

/** A query's filters as the signal search takes them. */
export function signalFilterOf(query: z.infer<typeof SignalFilterQuerySchema>): SignalFilter {
  return {
    status: query.status, ticker: query.ticker, side: query.side, reason: query.reason, kind: query.kind,
    from: query.from ? new Date(query.from) : undefined, to: query.to ? new Date(query.to) : undefined,
  };
}

/** GET /admin/events: where to resume, for a client that cannot send the Last-Event-ID header. */
export const EventStreamQuerySchema = z.object({
  last_event_id: z.string().max(41).regex(STREAM_ID, 'an event id this stream sent (<ms>-<seq>)').optional().describe('as the Last-Event-ID header (which wins): replay what followed it'),
});
export type EventStreamQuery = z.infer<typeof EventStreamQuerySchema>;

export const TopnHistoryQuerySchema = z.strictObject({
  from: isoTime.optional().describe('fetched at or after (ISO-8601)'),
  to: isoTime.optional().describe('fetched at or before (ISO-8601)'),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(200).optional().describe('next_cursor of the previous page'),
});
export type TopnHistoryQuery = z.infer<typeof TopnHistoryQuerySchema>;

export const SignalListSchema = z.object({ items: z.array(SignalViewSchema), next_cursor: z.string().nullable() });

export const TopnViewSchema = z.object({
  tickers: z.array(z.string()).describe('ranked, as on the screener page'),
  top_n: z.number().int(),
  fetched_at: z.string(),
  age_sec: z.number(),
  stale: z.boolean(),
  snapshot_id: z.string(),
});

export const TopnHistorySchema = z.object({
  items: z.array(z.object({
    snapshot_id: z.string(),
    tickers: z.array(z.string()),
    top_n: z.number().int(),
    fetched_at: z.string(),
    source: z.string(),
    duplicates_dropped: z.number().int().describe('tickers read twice across page boundaries and dropped'),
  })),
  next_cursor: z.string().nullable(),
});

/** What POST /finviz/config takes: any subset. */
export const FinvizConfigUpdateSchema = z.object({
  url: z.string().describe('a screener URL on a host of FINVIZ_ALLOWED_HOSTS'),
  top_n: z.number().int().min(1).max(1000),
  refresh: z.number().min(1).describe('seconds'),
}).partial();

/** What GET /finviz/config answers (credentials in the URL are redacted). */
export const FinvizConfigSchema = z.object({
  url: z.string().nullable(),
  top_n: z.number().int().min(1).max(1000),
  refresh: z.number().min(1).describe('seconds'),
  source: z.enum(['database', 'environment']),
  version: z.number().int().nullable(),
  updated_at: z.string().nullable(),
  updated_by: z.string().nullable(),
  elite: z.boolean(),
});

const SELL_TOKEN = z.string().min(1).optional().describe('ADMIN_TOKEN or FINVIZ_UPDATE_TOKEN; not needed with the console\'s session');
export const SellIndividualSchema = z.object({ ticker: z.string().min(1), token: SELL_TOKEN });
export const SellAllSchema = z.object({ token: SELL_TOKEN });
export const SellAcceptedSchema = z.object({ ids: z.array(z.uuid()), tickers: z.array(z.string()) });



/** A ticker in a path (/positions/:ticker/...). */
export const TickerParamsSchema = z.object({ ticker: tickerSchema('e.g. AAPL, brk.b (→ BRK-B); the same rule as /webhook/in') });

/** POST /positions/:ticker/open: the position's last price, if known (what /sell/individual would send). */
export const OpenPositionSchema = z.object({
  price: z.number().positive().finite().nullable().optional().describe('last known price; null or absent: none'),
}).strict();

export const PositionViewSchema = z.object({ ticker: z.string(), opened_at: z.string(), last_price: z.number().nullable() });

export const PositionCorrectionSchema = z.object({
  ticker: z.string(),
  before: PositionViewSchema.nullable().describe('the open position before; null: none was open'),
  after: PositionViewSchema.nullable().describe('the open position now; null: closed'),
});

export const AdminActionListQuerySchema = z.strictObject({
  action: z.string().max(64).regex(/^[a-z_]+(\.[a-z_]+)*$/, 'an action name such as position.close').optional(),
  from: isoTime.optional().describe('at or after (ISO-8601)'),
  to: isoTime.optional().describe('at or before (ISO-8601)'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional().describe('next_cursor of the previous page'),
});
export type AdminActionListQuery = z.infer<typeof AdminActionListQuerySchema>;

export const AdminActionViewSchema = z.object({
  id: z.string().describe('increasing; unique'),
  at: z.string().describe('when it started'),
  token_kind: z.enum(['admin_token', 'admin_session', 'finviz_update_token', 'sell_token', 'unknown']),
  principal: z.string().describe('ADMIN_TOKEN, FINVIZ_UPDATE_TOKEN or admin_session'),
  address: z.string().nullable().describe('the client address (TRUST_PROXY decides whether X-Forwarded-For is believed)'),
  action: z.string(),
  target: z.string().nullable(),
  before: z.unknown().describe('the state it changed, before; null when not applicable'),
  after: z.unknown().describe('the state after; null unless it was done'),
  outcome: z.enum(ADMIN_ACTION_OUTCOMES).describe('started: written before the action ran and never finished (the process stopped mid-way)'),
  http_status: z.number().int().nullable(),
  finished_at: z.string().nullable(),
});

export const AdminActionListSchema = z.object({ items: z.array(AdminActionViewSchema), next_cursor: z.string().nullable() });

export const PositionsSchema = z.array(PositionViewSchema);

/** An operator's note on a screener action, shown on the public /status: no control characters, no bidirectional overrides that could disguise it. */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const OperatorNoteSchema = z.string().trim().min(1).max(200).regex(/^[^\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$/, 'must not contain control or bidirectional-override characters');

/** POST /admin/screener/pause: the body is optional; a note, if given, is kept with the pause. */
export const ScreenerPauseRequestSchema = z.strictObject({
  reason: OperatorNoteSchema.optional().describe('why, for whoever looks at /status (at most 200 characters)'),
});

/** POST /admin/screener/refresh: the body is optional; a note, if given, goes to the screener's log and the admin-action log. */
export const ScreenerRefreshBodySchema = z.strictObject({
  reason: OperatorNoteSchema.optional().describe('why (at most 200 characters)'),
});

/** POST /admin/screener/refresh's answer: the request waiting for the leading screener. */
export const ScreenerRefreshRequestedSchema = ScreenerRefreshRequestSchema.extend({
  requested: z.literal(true),
  expires_at: z.string().describe('the request is dropped unserved if no leading screener takes it by then (no screener running)'),
  already_pending: z.boolean().describe('true: a request was already waiting; this is that one (one pass either way)'),
});

/** The screener's pause state, as POST /admin/screener/pause and /resume answer it. */
export const ScreenerPauseStateSchema = z.object({
  paused: z.boolean().describe('true: no screener replica scrapes; the Top-N set ages and turns stale'),
  paused_at: z.string().nullable().describe('when the pause began (ISO-8601); null while running'),
  by: z.string().nullable().describe('which credential paused it'),
  reason: z.string().nullable(),
  changed: z.boolean().describe('false when it was already in that state (a second pause keeps the first one\'s time)'),
});

/** Delivery's pause state, as POST /admin/delivery/pause and /resume answer it. */
export const DeliveryPauseStateSchema = z.object({
  paused: z.boolean().describe('true: no forwarder replica starts a delivery; approved signals wait in the forward queue'),
});

const WindowUseSchema = z.object({
  used: z.number().int().nonnegative().describe('requests (first tries and retries) started in the sliding window that ends now'),
  cap: z.number().int().positive().describe('the most the window admits'),
  window_sec: z.number().int().positive().describe("the window tsp counts over: the destination's, plus a second's margin for requests that arrive out of step (61 and 3,601)"),
});

/** GET /admin/delivery/cap-use: the destination's cap and how much of it is used now. */
export const CapUseSchema = z.object({
  enabled: z.boolean().describe('false: rate limiting is off (DEST_WEBHOOK_RATE_LIMITING_ENABLED or switched at runtime); starts made meanwhile are not counted'),
  at: z.string().describe("when it was read, on Redis's clock (ISO-8601)"),
  minute: WindowUseSchema.describe('the last 61 s against DEST_WEBHOOK_MAX_REQ_PER_MIN (or the cap set at runtime)'),
  hour: WindowUseSchema.describe('the last 3,601 s against DEST_WEBHOOK_MAX_REQ_PER_HOUR'),
});

/** GET /admin/stats/signals: how far back (whole minutes, besides the current one). */
export const SignalActivityQuerySchema = z.object({
  minutes: z.coerce.number().int().min(1).max(1440).default(60).describe('1–1440 (a day); default 60'),
});
export type SignalActivityQuery = z.infer<typeof SignalActivityQuerySchema>;

export const SignalActivitySchema = z.object({
  from: z.string().describe('the first minute (ISO-8601)'),
  to: z.string().describe('the end of the current minute'),
  bucket_sec: z.literal(60),
  minutes: z.array(z.object({
    at: z.string().describe("the minute's start; minutes without signals or attempts are left out"),
    outcomes: z.partialRecord(SignalStatusSchema, z.number().int()).describe('signals received in the minute, by their status now'),
    attempts: z.number().int().describe('delivery attempts started in the minute (what the rate cap counts)'),
    latency_p50_ms: z.number().int().nullable(),
    latency_p99_ms: z.number().int().nullable(),
  })),
});

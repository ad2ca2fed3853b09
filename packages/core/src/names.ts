/** One source of truth for every name that two processes must agree on. */

export const QUEUE = {
  signals: 'signals',
  forward: 'forward',
} as const;

export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

export type ServiceName = 'ingest' | 'screener' | 'approver' | 'forwarder';

/**
 * The deployment a KEY_PREFIX names, as Postgres rows record it: the prefix without the braces of
 * a Redis Cluster hash tag (`{tsp}` → `tsp`), so moving a deployment to a Cluster keeps its rows.
 */
export function deploymentOf(prefix: string): string {
  return prefix.replace(/^\{(.*)\}$/, '$1');
}

/**
 * Redis keys, all under the deployment's KEY_PREFIX. Under a Redis Cluster the prefix is a hash
 * tag (`{tsp}`, see config.ts), so every key here, and BullMQ's, is in one slot: the scripts and
 * transactions that touch several of them at once work there too.
 */
export const redisKeys = (prefix: string) => ({
  topn: `${prefix}:topn`,
  topnUpdated: `${prefix}:topn:updated`,
  idempotency: (key: string) => `${prefix}:idem:${key}`,
  stats: `${prefix}:stats`,
  statsLabelled: `${prefix}:stats:labelled`,
  statsE2e: `${prefix}:stats:e2e`,
  statsMinute: (minute: number) => `${prefix}:stats:received:${minute}`,
  limiterId: `${prefix}-destination`,
  /** Open positions (hash ticker → JSON), kept current by the forwarder for the approver. */
  positions: `${prefix}:positions`,
  /** Last price seen of one ticker, so a manual exit can carry one; expires (LAST_PRICE_TTL_SEC), so any ticker anyone sends costs memory only for a while. */
  lastPrice: (ticker: string) => `${prefix}:lastprice:${ticker}`,
  /** A BullMQ job's hash (BullMQ's own layout: prefix, queue, id). */
  job: (queue: QueueName, id: string) => `${prefix}:${queue}:${id}`,
  /** One ticker's signals accepted and not ended yet, in acceptance order (sorted set id → sequence; see ticker-lane.ts). */
  lane: (ticker: string) => `${prefix}:lane:${ticker}`,
  /** The sequence that orders every lane (one counter). */
  laneSeq: `${prefix}:lane:seq`,
  /** Signals parked until they head their lane (hash id → queue to wake them in); an entry lives while its signal waits. */
  laneParked: `${prefix}:lane:parked`,
  /** Start times of the last minute's requests to the destination (sorted set): the exact sliding-window check (rate-windows.ts). */
  destinationStarts: `${prefix}:destination:starts`,
  /** The same for the hour's window (DEST_WEBHOOK_MAX_REQ_PER_HOUR); at most that many members, expires with the window. */
  destinationStartsHour: `${prefix}:destination:starts:hour`,
  /** The destination cap set at runtime through the forwarder admin route; overrides the env for every replica. */
  rateCap: `${prefix}:ratecap`,
  /** Rate limiting switched on ('1') or off ('0') at runtime for every replica; absent: the env decides. One small key. */
  rateLimiting: `${prefix}:ratelimiting`,
  /** Audit events a forwarder could not write to Postgres, applied in order when it is back. */
  auditOutbox: `${prefix}:audit:outbox`,
  auditOutboxLock: `${prefix}:audit:outbox:lock`,
  /** Outbox records Postgres refused for their data (not just unreachable), kept for an operator to inspect; capped (SET_ASIDE_MAX). */
  auditOutboxFailed: `${prefix}:audit:outbox:failed`,
  /** A signal's decision, and whether it was delivered (see decision-hash.ts): decided once, even while Postgres is down. */
  decision: (signalId: string) => `${prefix}:decision:${signalId}`,
  /** A BUY rejected not_in_topn that may still be approved late (REAPPROVE_WINDOW_SEC), one per ticker; expires with the window. */
  latePending: (ticker: string) => `${prefix}:late:pending:${ticker}`,
  /** When the latest signal of a ticker was received (ms), as the approver saw it; expires with the window. */
  lateSeen: (ticker: string) => `${prefix}:late:seen:${ticker}`,
  /** Announces a runtime change of the Finviz screener config (payload: the stored config, JSON). */
  finvizConfigUpdated: `${prefix}:finviz:config:updated`,
  /** The screener replicas' leader lock (value: the leader's random id; SET NX PX, renewed). */
  screenerLeader: `${prefix}:screener:leader`,
  /** Epoch ms before which no screener replica may fetch (back-off carried across a leader change). */
  screenerNextFetch: `${prefix}:screener:next_fetch_at`,
  /** Present while the screener is paused for every replica (JSON: when, by whom, why); deleted on resume — see screener-pause.ts for why it has no TTL. */
  screenerPaused: `${prefix}:screener:paused`,
  /** Announces a pause or a resume to the screener replicas (the message is a nudge; they read screenerPaused). */
  screenerPauseChanged: `${prefix}:screener:paused:changed`,
  /** A refresh asked for from the console (JSON: id, when, by whom), waiting for the leader to take it; expires (SCREENER_REFRESH_REQUEST_TTL_MS). See screener-refresh.ts. */
  screenerRefresh: `${prefix}:screener:refresh`,
  /** Announces a refresh request to the screener replicas (a nudge: the leader takes screenerRefresh). */
  screenerRefreshRequested: `${prefix}:screener:refresh:requested`,
  /** How the last requested refresh went (JSON), for the console; expires (SCREENER_REFRESH_RESULT_TTL_MS). */
  screenerRefreshLast: `${prefix}:screener:refresh:last`,
  /**
   * The console's live feed (Redis Stream): one entry per batch of signal state changes (accepted
   * by ingest, decided, attempted, ended), the changes as JSON; capped at SIGNAL_EVENTS_MAXLEN.
   */
  signalEvents: `${prefix}:events`,
  /** A signed-out admin console session (by its id), kept only for the rest of the session's life so the key is bounded. */
  adminSessionRevoked: (sessionId: string) => `${prefix}:admin:session:revoked:${sessionId}`,
  /** Recent failed console logins of one client address (sorted set of attempt times, TTL of the throttle window). */
  adminLoginFailures: (address: string) => `${prefix}:admin:login:failures:${address}`,
  /** Recent failed tokens on ingest's JSON routes from one client address (the same shape and bounds). */
  tokenFailures: (address: string) => `${prefix}:admin:token:failures:${address}`,
});

/** Counters kept in Redis so any ingest replica can report the whole system. */
export const STAT = {
  received: 'received',
  approved: 'approved',
  rejected: 'rejected',
  forwarded: 'forwarded',
  failed: 'failed',
  dead: 'dead',
  /** Audit records Postgres refused for their data, set aside in `auditOutboxFailed`. */
  auditSetAside: 'audit_set_aside',
} as const;
export type StatName = (typeof STAT)[keyof typeof STAT];

export const METRIC = {
  received: 'tsp_signals_received_total',
  approved: 'tsp_signals_approved_total',
  rejected: 'tsp_signals_rejected_total',
  forwardAttempts: 'tsp_forward_attempts_total',
  queueJobs: 'tsp_queue_jobs',
  e2eSeconds: 'tsp_signal_e2e_seconds',
  exitsPastTtl: 'tsp_exits_past_ttl_total',
  laneParks: 'tsp_lane_parks_total',
  auditOutbox: 'tsp_audit_outbox_records',
  auditOutboxMax: 'tsp_audit_outbox_max_records',
  auditSetAside: 'tsp_audit_records_set_aside_total',
  screenerFetches: 'tsp_screener_fetches_total',
  topnAgeSeconds: 'tsp_topn_age_seconds',
  screenerLogins: 'tsp_screener_logins_total',
  screenerLeader: 'tsp_screener_leader',
  screenerPaused: 'tsp_screener_paused',
  screenerDuplicatesDropped: 'tsp_screener_duplicates_dropped_total',
  signalsInvalid: 'tsp_signals_invalid_total',
  /** 1 while the service answers /ready with 200, else 0 (every service). */
  ready: 'tsp_ready',
  topnStale: 'tsp_topn_stale',
  topnMaxAgeSeconds: 'tsp_topn_max_age_seconds',
  rateWindowStarts: 'tsp_rate_window_starts',
  rateWindowCap: 'tsp_rate_window_cap',
  rateLimitingEnabled: 'tsp_rate_limiting_enabled',
  deadLetters: 'tsp_dead_letters',
} as const;

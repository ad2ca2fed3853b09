/** One source of truth for every name that two processes must agree on. */

export const QUEUE = {
  signals: 'signals',
  forward: 'forward',
} as const;

export type ServiceName = 'ingest' | 'screener' | 'approver' | 'forwarder';

/** Redis keys, all under the deployment's KEY_PREFIX. */
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
  /** Last price seen per ticker (hash), so a manual exit can carry one. */
  lastPrice: `${prefix}:lastprice`,
  /** Start times of recent requests to the destination (sorted set): the exact sliding-window check. */
  destinationStarts: `${prefix}:destination:starts`,
  /** The destination cap set at runtime through the forwarder admin route; overrides the env for every replica. */
  rateCap: `${prefix}:ratecap`,
  /** Audit events a forwarder could not write to Postgres, applied in order when it is back. */
  auditOutbox: `${prefix}:audit:outbox`,
  auditOutboxLock: `${prefix}:audit:outbox:lock`,
  /** Outbox records Postgres kept refusing (not just unreachable); kept for an operator to inspect. */
  auditOutboxFailed: `${prefix}:audit:outbox:failed`,
  /** A signal's decision, and whether it was delivered (see decision-hash.ts): decided once, even while Postgres is down. */
  decision: (signalId: string) => `${prefix}:decision:${signalId}`,
  heartbeat: (service: ServiceName) => `${prefix}:heartbeat:${service}`,
  /** Announces a runtime change of the Finviz screener config (payload: the stored config, JSON). */
  finvizConfigUpdated: `${prefix}:finviz:config:updated`,
  /** The screener replicas' leader lock (value: the leader's random id; SET NX PX, renewed). */
  screenerLeader: `${prefix}:screener:leader`,
  /** Epoch ms before which no screener replica may fetch (back-off carried across a leader change). */
  screenerNextFetch: `${prefix}:screener:next_fetch_at`,
  /** A signed-out admin console session (by its id), kept only for the rest of the session's life so the key is bounded. */
  adminSessionRevoked: (sessionId: string) => `${prefix}:admin:session:revoked:${sessionId}`,
  /** Recent failed console logins of one client address (sorted set of attempt times, TTL of the throttle window). */
  adminLoginFailures: (address: string) => `${prefix}:admin:login:failures:${address}`,
});

/** Counters kept in Redis so any ingest replica can report the whole system. */
export const STAT = {
  received: 'received',
  approved: 'approved',
  rejected: 'rejected',
  forwarded: 'forwarded',
  failed: 'failed',
  dead: 'dead',
} as const;
export type StatName = (typeof STAT)[keyof typeof STAT];

export const METRIC = {
  received: 'tsp_signals_received_total',
  approved: 'tsp_signals_approved_total',
  rejected: 'tsp_signals_rejected_total',
  forwardAttempts: 'tsp_forward_attempts_total',
  queueJobs: 'tsp_queue_jobs',
  e2eSeconds: 'tsp_signal_e2e_seconds',
  screenerFetches: 'tsp_screener_fetches_total',
  topnAgeSeconds: 'tsp_topn_age_seconds',
  screenerLogins: 'tsp_screener_logins_total',
  screenerLeader: 'tsp_screener_leader',
  screenerDuplicatesDropped: 'tsp_screener_duplicates_dropped_total',
} as const;

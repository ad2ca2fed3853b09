import type { Pool } from 'pg';

/** One minute of the relay's activity, as the console's charts draw it. */
export interface ActivityMinute {
  /** The minute's start. */
  at: Date;
  /** Signals received in the minute, by where each is now (approved, rejected, forwarded, retrying, dead). */
  outcomes: Record<string, number>;
  /** Delivery attempts that started in the minute: requests to the destination, what the rate cap counts. */
  attempts: number;
  /** Those attempts' latency, median and 99th percentile (ms); null without attempts. */
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
}

/**
 * A delivery attempt belongs to a signal received at most this long before it: the search for a
 * window's attempts goes through the (deployment, received_at) index instead of every delivery.
 * Entries expire long before (SIGNAL_TTL_SEC); an exit retried for longer is not drawn.
 */
const ATTEMPT_REACH_MS = 6 * 3600_000;

/**
 * The relay's activity per minute over [from, to): signals by outcome (by the minute received) and
 * delivery attempts with their latency (by the minute they started). Two grouped statements over
 * the (deployment, received_at) index; a day of minutes at most, as the route allows.
 */
export async function signalActivity(pool: Pool, deployment: string, from: Date, to: Date): Promise<ActivityMinute[]> {
  const [outcomes, attempts] = await Promise.all([
    pool.query<{ minute: Date; status: string; n: number }>(
      `SELECT date_trunc('minute', received_at) AS minute, status, count(*)::int AS n
         FROM signals
        WHERE (deployment = $1 OR deployment IS NULL) AND received_at >= $2 AND received_at < $3
        GROUP BY 1, 2`,
      [deployment, from, to],
    ),
    pool.query<{ minute: Date; n: number; p50: number | null; p99: number | null }>(
      `SELECT date_trunc('minute', d.at) AS minute, count(*)::int AS n,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY d.latency_ms) AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY d.latency_ms) AS p99
         FROM signals s JOIN deliveries d ON d.signal_id = s.id
        WHERE (s.deployment = $1 OR s.deployment IS NULL) AND s.received_at >= $4 AND s.received_at < $3
          AND d.at >= $2 AND d.at < $3
        GROUP BY 1`,
      [deployment, from, to, new Date(from.getTime() - ATTEMPT_REACH_MS)],
    ),
  ]);
  const minutes = new Map<number, ActivityMinute>();
  const minute = (at: Date) => {
    let entry = minutes.get(at.getTime());
    if (!entry) minutes.set(at.getTime(), (entry = { at, outcomes: {}, attempts: 0, latencyP50Ms: null, latencyP99Ms: null }));
    return entry;
  };
  for (const row of outcomes.rows) minute(row.minute).outcomes[row.status] = row.n;
  for (const row of attempts.rows) {
    const entry = minute(row.minute);
    entry.attempts = row.n;
    entry.latencyP50Ms = row.p50 === null ? null : Math.round(Number(row.p50));
    entry.latencyP99Ms = row.p99 === null ? null : Math.round(Number(row.p99));
  }
  return [...minutes.values()].sort((a, b) => a.at.getTime() - b.at.getTime());
}

import type { Pool, PoolClient } from 'pg';
import type {
  AttemptRecord, AuditRecord, DecisionRecord, ExpiryRecord, GaveUpRecord, LateApprovalRecord, MalformedRecord, PositionCorrectionRecord,
} from './audit-records';

/**
 * Applies a batch of audit records, oldest first, in one transaction of a few set-based
 * statements, however many records: per-record queries cannot keep up with a busy relay. Plain
 * SQL through pg rather than Prisma: this runs many times a second under load, and Prisma's
 * per-query work cost the approver about a third of its CPU.
 * Every statement is idempotent (insert-if-absent, upserts, guarded updates), so a batch applied
 * twice after a crash leaves the same rows. Returns the attempts whose signal has no row (they
 * are not written; the caller decides what to do with them).
 */
export async function applyAuditBatch(pool: Pool, records: AuditRecord[], deployment: string): Promise<AttemptRecord[]> {
  const decisions = records.filter((r): r is DecisionRecord => r.type === 'decision');
  const attempts = lastOfEach(records.filter((r): r is AttemptRecord => r.type === 'attempt'), (r) => `${r.signalId}|${r.attempt}`);
  const expired = records.filter((r): r is ExpiryRecord => r.type === 'expired').map((r) => r.signalId);
  const malformed = records.filter((r): r is MalformedRecord => r.type === 'malformed');
  const gaveUp = records.filter((r): r is GaveUpRecord => r.type === 'gave_up').map((r) => r.signalId);
  const lateApprovals = records.filter((r): r is LateApprovalRecord => r.type === 'late_approval');
  const corrections = records.filter((r): r is PositionCorrectionRecord => r.type === 'position');

  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    // A signal decided and attempted within one batch (the usual case) is inserted with the
    // outcome of its latest attempt: one write of its row instead of an insert and an update.
    const inserted = decisions.length ? await insertSignals(client, decisions, latestAttempts(attempts), deployment) : new Set<string>();
    if (lateApprovals.length) await applyLateApprovals(client, lateApprovals);
    const orphans = await orphanAttempts(client, attempts, new Set(decisions.map((d) => d.signal.id)));
    const written = attempts.filter((a) => !orphans.includes(a));
    if (written.length) {
      await upsertDeliveries(client, written);
      const toUpdate = lastOfEach(written, (r) => r.signalId).filter((a) => !inserted.has(a.signalId));
      if (toUpdate.length) await updateStatuses(client, toUpdate);
    }
    if (written.length || corrections.length) await applyPositions(client, positionEvents(records, new Set(written)), deployment);
    if (expired.length) {
      await client.query(`
        UPDATE signals SET status = 'dead', reason = 'expired', updated_at = now()
        WHERE id = ANY($1::uuid[]) AND status <> 'forwarded'`, [expired]);
    }
    if (malformed.length) await upsertMalformed(client, malformed, deployment);
    if (gaveUp.length) {
      await client.query(`
        UPDATE signals SET status = 'dead', reason = 'attempts_exhausted', updated_at = now()
        WHERE id = ANY($1::uuid[]) AND status <> 'forwarded'`, [gaveUp]);
    }
    await client.query('COMMIT');
    return orphans;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Keeps the last record of each key, in the order of those last records. */
function lastOfEach<T>(items: T[], key: (item: T) => string): T[] {
  const last = new Map<string, T>();
  for (const item of items) {
    last.delete(key(item));
    last.set(key(item), item);
  }
  return [...last.values()];
}

/** Each signal's attempt with the highest number (of equals, the last): the one that decides its status. */
function latestAttempts(attempts: AttemptRecord[]): Map<string, AttemptRecord> {
  const latest = new Map<string, AttemptRecord>();
  for (const attempt of attempts) {
    const seen = latest.get(attempt.signalId);
    if (!seen || attempt.attempt >= seen.attempt) latest.set(attempt.signalId, attempt);
  }
  return latest;
}

/** Inserts the signals that have no row yet; resolves with the ids it inserted. */
async function insertSignals(client: PoolClient, decisions: DecisionRecord[], latest: Map<string, AttemptRecord>, deployment: string): Promise<Set<string>> {
  const column = <T>(pick: (d: DecisionRecord) => T) => decisions.map(pick);
  const outcome = (d: DecisionRecord) => {
    const attempt = latest.get(d.signal.id);
    if (attempt) return { status: attempt.status, reason: attempt.reason };
    return d.decision.approved ? { status: 'approved', reason: null } : { status: 'rejected', reason: d.decision.reason };
  };
  const { rows } = await client.query<{ id: string }>(`
    INSERT INTO signals (id, kind, ticker, side, action, price, "time", received_at, status, reason, basis, rank,
                         snapshot_id, idempotency_key, body, received_body, decided_at, updated_at, deployment)
    SELECT v.id, v.kind, v.ticker, v.side, v.action, v.price, v.t, v.received_at, v.status, v.reason, v.basis, v.rank,
           v.snapshot_id, v.idempotency_key, v.body::jsonb, v.received_body::jsonb, v.decided_at, now(), $18
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::timestamptz[], $8::timestamptz[],
                $9::text[], $10::text[], $11::text[], $12::int[], $13::text[], $14::text[], $15::text[], $16::text[], $17::timestamptz[])
      AS v(id, kind, ticker, side, action, price, t, received_at, status, reason, basis, rank, snapshot_id, idempotency_key, body, received_body, decided_at)
    ON CONFLICT (id) DO NOTHING
    RETURNING id`, [
    column((d) => d.signal.id), column((d) => d.signal.kind), column((d) => d.signal.ticker), column((d) => d.signal.side),
    column((d) => d.signal.action), column((d) => d.signal.price ?? null), column((d) => d.signal.time), column((d) => d.signal.receivedAt),
    column((d) => outcome(d).status), column((d) => outcome(d).reason),
    column((d) => (d.decision.approved ? d.decision.basis : null)), column((d) => d.decision.rank), column((d) => d.decision.snapshotId),
    column((d) => d.signal.idempotencyKey ?? null), column((d) => JSON.stringify(d.signal.body)),
    column((d) => (d.signal.receivedBody ? JSON.stringify(d.signal.receivedBody) : null)), column((d) => d.decidedAt),
    deployment,
  ]);
  return new Set(rows.map((row) => row.id));
}

/**
 * A rejection turned into an approval: the basis and the snapshot that admitted it are kept; the
 * status moves only from rejected (a delivery already recorded in the same batch wins).
 */
function applyLateApprovals(client: PoolClient, records: LateApprovalRecord[]) {
  return client.query(`
    UPDATE signals s SET basis = 'late_topn', rank = v.rank, snapshot_id = v.snapshot_id, decided_at = v.decided_at,
      status = CASE WHEN s.status = 'rejected' THEN 'approved' ELSE s.status END,
      reason = CASE WHEN s.status = 'rejected' THEN NULL ELSE s.reason END, updated_at = now()
    FROM unnest($1::uuid[], $2::int[], $3::text[], $4::timestamptz[]) AS v(id, rank, snapshot_id, decided_at)
    WHERE s.id = v.id`,
  [records.map((r) => r.signalId), records.map((r) => r.rank), records.map((r) => r.snapshotId), records.map((r) => r.decidedAt)]);
}

/** Attempts of signals that have no row, neither in Postgres nor among the batch's decisions. */
async function orphanAttempts(client: PoolClient, attempts: AttemptRecord[], decidedInBatch: Set<string>): Promise<AttemptRecord[]> {
  const ids = [...new Set(attempts.map((a) => a.signalId).filter((id) => !decidedInBatch.has(id)))];
  if (!ids.length) return [];
  const { rows } = await client.query<{ id: string }>('SELECT id FROM signals WHERE id = ANY($1::uuid[])', [ids]);
  const known = new Set(rows.map((row) => row.id));
  return attempts.filter((a) => !decidedInBatch.has(a.signalId) && !known.has(a.signalId));
}

/** A malformed job's signal: inserted rejected/malformed, or an existing row (a delivery found malformed) marked so. */
function upsertMalformed(client: PoolClient, records: MalformedRecord[], deployment: string) {
  const column = <T>(pick: (s: MalformedRecord['signal']) => T) => records.map((r) => pick(r.signal));
  return client.query(`
    INSERT INTO signals (id, kind, ticker, side, action, price, "time", received_at, status, reason, body, decided_at, updated_at, deployment)
    SELECT v.id, v.kind, v.ticker, v.side, '', NULL, v.t, v.received_at, 'rejected', 'malformed', v.body::jsonb, now(), now(), $8
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[])
      AS v(id, kind, ticker, side, t, received_at, body)
    ON CONFLICT (id) DO UPDATE SET status = 'rejected', reason = 'malformed', updated_at = now()`,
  [column((s) => s.id), column((s) => s.kind), column((s) => s.ticker), column((s) => s.side), column((s) => s.time), column((s) => s.receivedAt),
    column((s) => JSON.stringify(s.body)), deployment]);
}

function upsertDeliveries(client: PoolClient, attempts: AttemptRecord[]) {
  return client.query(`
    INSERT INTO deliveries (signal_id, attempt, at, http_status, latency_ms, error)
    SELECT * FROM unnest($1::uuid[], $2::int[], $3::timestamptz[], $4::int[], $5::int[], $6::text[])
    ON CONFLICT (signal_id, attempt) DO UPDATE
      SET at = EXCLUDED.at, http_status = EXCLUDED.http_status, latency_ms = EXCLUDED.latency_ms, error = EXCLUDED.error`,
  [attempts.map((a) => a.signalId), attempts.map((a) => a.attempt), attempts.map((a) => a.at),
    attempts.map((a) => a.httpStatus), attempts.map((a) => a.latencyMs), attempts.map((a) => a.error)]);
}

/** A late record of an earlier attempt never overwrites the outcome of a later one. */
function updateStatuses(client: PoolClient, latest: AttemptRecord[]) {
  return client.query(`
    UPDATE signals s SET status = v.status, reason = v.reason, updated_at = now()
    FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[]) AS v(id, attempt, status, reason)
    WHERE s.id = v.id AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.signal_id = v.id AND d.attempt > v.attempt)`,
  [latest.map((a) => a.signalId), latest.map((a) => a.attempt), latest.map((a) => a.status), latest.map((a) => a.reason)]);
}

/** Something that opens or closes a position: a delivered BUY or SELL, or a correction by hand. */
interface PositionEvent {
  ticker: string;
  opens: boolean;
  at: string;
  price: number | null;
  signalId: string | null;
}

/** The batch's position events in the order they happened: delivered attempts (of those written) and corrections. */
function positionEvents(records: AuditRecord[], written: Set<AttemptRecord>): PositionEvent[] {
  return records.flatMap((r): PositionEvent[] => {
    if (r.type === 'attempt' && r.status === 'forwarded' && written.has(r)) return [{ ticker: r.ticker, opens: r.side === 'BUY', at: r.at, price: r.price, signalId: r.signalId }];
    if (r.type === 'position') return [r.open ? { ticker: r.ticker, opens: true, at: r.open.openedAt, price: r.open.lastPrice, signalId: r.open.signalId } : { ticker: r.ticker, opens: false, at: r.at, price: null, signalId: null }];
    return [];
  });
}

/**
 * A delivered BUY (or a correction) opens the ticker's position (or keeps it open, with the newer
 * price); a delivered SELL (or a correction) closes it. Per ticker only the batch's net effect is
 * written: closed, opened afresh after a close, or still open.
 */
async function applyPositions(client: PoolClient, happened: PositionEvent[], deployment: string) {
  const byTicker = new Map<string, PositionEvent[]>();
  for (const event of happened) byTicker.set(event.ticker, [...(byTicker.get(event.ticker) ?? []), event]);
  const closed: string[] = [];
  const open: { ticker: string; openedAt: string; lastPrice: number | null; signalId: string | null }[] = [];
  for (const [ticker, events] of byTicker) {
    const lastClose = events.map((e) => e.opens).lastIndexOf(false);
    const opensAfter = events.slice(lastClose + 1);
    if (lastClose >= 0) closed.push(ticker);
    if (!opensAfter.length) continue;
    const prices = opensAfter.map((b) => b.price).filter((p): p is number => p !== null);
    open.push({ ticker, openedAt: opensAfter[0].at, lastPrice: prices.length ? prices[prices.length - 1] : null, signalId: opensAfter[0].signalId });
  }
  // A position written before positions were per deployment ('') is this deployment's too: closing closes it.
  if (closed.length) await client.query("DELETE FROM positions WHERE ticker = ANY($1::text[]) AND deployment IN ($2, '')", [closed, deployment]);
  if (open.length) {
    await client.query(`
      INSERT INTO positions (deployment, ticker, opened_at, last_price, signal_id, updated_at)
      SELECT $5, v.*, now() FROM unnest($1::text[], $2::timestamptz[], $3::float8[], $4::uuid[]) AS v
      ON CONFLICT (deployment, ticker) DO UPDATE SET last_price = COALESCE(EXCLUDED.last_price, positions.last_price), updated_at = now()`,
    [open.map((p) => p.ticker), open.map((p) => p.openedAt), open.map((p) => p.lastPrice), open.map((p) => p.signalId), deployment]);
  }
}

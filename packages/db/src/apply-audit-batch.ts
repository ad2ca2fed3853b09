import { Prisma, type PrismaClient } from '../generated/client';
import type { AttemptRecord, AuditRecord, DecisionRecord, ExpiryRecord } from './audit-records';

/**
 * Applies a batch of audit records, oldest first, in one transaction of a few set-based
 * statements, however many records: per-record queries cannot keep up with a busy relay.
 * Every statement is idempotent (insert-if-absent, upserts, guarded updates), so a batch applied
 * twice after a crash leaves the same rows. Returns the attempts whose signal has no row (they
 * are not written; the caller decides what to do with them).
 */
export async function applyAuditBatch(prisma: PrismaClient, records: AuditRecord[]): Promise<AttemptRecord[]> {
  const decisions = records.filter((r): r is DecisionRecord => r.type === 'decision');
  const attempts = lastOfEach(records.filter((r): r is AttemptRecord => r.type === 'attempt'), (r) => `${r.signalId}|${r.attempt}`);
  const expired = records.filter((r): r is ExpiryRecord => r.type === 'expired').map((r) => r.signalId);

  const statements: Prisma.PrismaPromise<unknown>[] = [];
  if (decisions.length) statements.push(prisma.signal.createMany({ data: decisions.map(signalRow), skipDuplicates: true }));
  const orphans = await orphanAttempts(prisma, attempts, new Set(decisions.map((d) => d.signal.id)));
  const written = attempts.filter((a) => !orphans.includes(a));
  if (written.length) {
    statements.push(upsertDeliveries(prisma, written));
    statements.push(updateStatuses(prisma, lastOfEach(written, (r) => r.signalId)));
    statements.push(...applyPositions(prisma, written.filter((a) => a.status === 'forwarded')));
  }
  if (expired.length) {
    statements.push(prisma.$executeRaw`
      UPDATE signals SET status = 'dead', reason = 'expired', updated_at = now()
      WHERE id = ANY(${expired}::uuid[]) AND status <> 'forwarded'`);
  }
  if (statements.length) await prisma.$transaction(statements);
  return orphans;
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

function signalRow({ signal, decision, decidedAt }: DecisionRecord): Prisma.SignalCreateManyInput {
  return {
    id: signal.id,
    kind: signal.kind,
    ticker: signal.ticker,
    side: signal.side,
    action: signal.action,
    price: signal.price ?? null,
    time: new Date(signal.time),
    receivedAt: new Date(signal.receivedAt),
    status: decision.approved ? 'approved' : 'rejected',
    reason: decision.approved ? null : decision.reason,
    basis: decision.approved ? decision.basis : null,
    rank: decision.rank,
    snapshotId: decision.snapshotId,
    idempotencyKey: signal.idempotencyKey ?? null,
    body: signal.body as Prisma.InputJsonValue,
    decidedAt: new Date(decidedAt),
  };
}

/** Attempts of signals that have no row, neither in Postgres nor earlier in this batch. */
async function orphanAttempts(prisma: PrismaClient, attempts: AttemptRecord[], decidedInBatch: Set<string>): Promise<AttemptRecord[]> {
  const ids = [...new Set(attempts.map((a) => a.signalId).filter((id) => !decidedInBatch.has(id)))];
  if (!ids.length) return [];
  const found = await prisma.signal.findMany({ where: { id: { in: ids } }, select: { id: true } });
  const known = new Set(found.map((row) => row.id));
  return attempts.filter((a) => !decidedInBatch.has(a.signalId) && !known.has(a.signalId));
}

function upsertDeliveries(prisma: PrismaClient, attempts: AttemptRecord[]) {
  return prisma.$executeRaw`
    INSERT INTO deliveries (signal_id, attempt, at, http_status, latency_ms, error)
    SELECT * FROM unnest(
      ${attempts.map((a) => a.signalId)}::uuid[], ${attempts.map((a) => a.attempt)}::int[],
      ${attempts.map((a) => new Date(a.at))}::timestamptz[], ${attempts.map((a) => a.httpStatus)}::int[],
      ${attempts.map((a) => a.latencyMs)}::int[], ${attempts.map((a) => a.error)}::text[])
    ON CONFLICT (signal_id, attempt) DO UPDATE
      SET at = EXCLUDED.at, http_status = EXCLUDED.http_status, latency_ms = EXCLUDED.latency_ms, error = EXCLUDED.error`;
}

/** A late record of an earlier attempt never overwrites the outcome of a later one. */
function updateStatuses(prisma: PrismaClient, latest: AttemptRecord[]) {
  return prisma.$executeRaw`
    UPDATE signals s SET status = v.status, reason = v.reason, updated_at = now()
    FROM unnest(${latest.map((a) => a.signalId)}::uuid[], ${latest.map((a) => a.attempt)}::int[],
                ${latest.map((a) => a.status)}::text[], ${latest.map((a) => a.reason)}::text[]) AS v(id, attempt, status, reason)
    WHERE s.id = v.id AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.signal_id = v.id AND d.attempt > v.attempt)`;
}

/**
 * A delivered BUY opens the ticker's position (or keeps it open, with the newer price); a
 * delivered SELL closes it. Per ticker only the batch's net effect is written: closed, opened
 * afresh after a close, or still open.
 */
function applyPositions(prisma: PrismaClient, delivered: AttemptRecord[]) {
  const byTicker = new Map<string, AttemptRecord[]>();
  for (const record of delivered) byTicker.set(record.ticker, [...(byTicker.get(record.ticker) ?? []), record]);
  const closed: string[] = [];
  const open: { ticker: string; openedAt: Date; lastPrice: number | null; signalId: string }[] = [];
  for (const [ticker, events] of byTicker) {
    const lastSell = events.map((e) => e.side).lastIndexOf('SELL');
    const buysAfter = events.slice(lastSell + 1);
    if (lastSell >= 0) closed.push(ticker);
    if (!buysAfter.length) continue;
    const prices = buysAfter.map((b) => b.price).filter((p): p is number => p !== null);
    open.push({ ticker, openedAt: new Date(buysAfter[0].at), lastPrice: prices.length ? prices[prices.length - 1] : null, signalId: buysAfter[0].signalId });
  }
  const statements: Prisma.PrismaPromise<unknown>[] = [];
  if (closed.length) statements.push(prisma.$executeRaw`DELETE FROM positions WHERE ticker = ANY(${closed}::text[])`);
  if (open.length) {
    statements.push(prisma.$executeRaw`
      INSERT INTO positions (ticker, opened_at, last_price, signal_id, updated_at)
      SELECT v.*, now() FROM unnest(${open.map((p) => p.ticker)}::text[], ${open.map((p) => p.openedAt)}::timestamptz[],
                                    ${open.map((p) => p.lastPrice)}::float8[], ${open.map((p) => p.signalId)}::uuid[]) AS v
      ON CONFLICT (ticker) DO UPDATE SET last_price = COALESCE(EXCLUDED.last_price, positions.last_price), updated_at = now()`);
  }
  return statements;
}

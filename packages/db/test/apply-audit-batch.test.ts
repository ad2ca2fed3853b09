import { randomUUID } from 'node:crypto';
import type { SignalJob } from '@tsp/core';
import { createAuditPool, createPrisma } from '../src';
import { applyAuditBatch } from '../src/apply-audit-batch';
import type { AttemptRecord, DecisionRecord, PositionCorrectionRecord } from '../src/audit-records';

describe('writing a batch of audit records', () => {
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const pool = createAuditPool(process.env.DATABASE_URL!);
  const ticker = `B${randomUUID().slice(0, 5)}`.toUpperCase();
  const DEPLOYMENT = `test-batch-${randomUUID().slice(0, 8)}`;
  afterAll(async () => {
    await prisma.position.deleteMany({ where: { ticker } });
    await prisma.$disconnect();
    await pool.end();
  });

  const decision = (side: 'BUY' | 'SELL', price?: number): DecisionRecord => {
    const now = new Date().toISOString();
    const signal: SignalJob = { id: randomUUID(), kind: 'source', ticker, side, action: side.toLowerCase(), price, time: now, receivedAt: now, body: { ticker, side, action: side.toLowerCase(), time: now } };
    return { type: 'decision', signal, decision: { approved: true, basis: 'topn', rank: 1, snapshotId: 's' }, decidedAt: now };
  };
  const attempt = (d: DecisionRecord, n: number, status: AttemptRecord['status'], at: string, httpStatus = status === 'forwarded' ? 200 : 503): AttemptRecord => ({
    type: 'attempt', signalId: d.signal.id, attempt: n, at, httpStatus, latencyMs: 3, error: status === 'forwarded' ? null : 'boom',
    status, reason: status === 'dead' ? 'attempts_exhausted' : null, ticker, side: d.signal.side, price: d.signal.price ?? null,
  });
  const row = (d: DecisionRecord) => prisma.signal.findUniqueOrThrow({ where: { id: d.signal.id }, include: { deliveries: { orderBy: { attempt: 'asc' } } } });

  it('writes decisions, attempts and their final status in order, and is idempotent', async () => {
    const buy = decision('BUY', 10);
    const records = [buy, attempt(buy, 1, 'retrying', '2026-11-25T10:00:00Z'), attempt(buy, 2, 'forwarded', '2026-11-25T10:00:01Z')];
    expect(await applyAuditBatch(pool, records, DEPLOYMENT)).toEqual([]);
    await applyAuditBatch(pool, records, DEPLOYMENT);
    const written = await row(buy);
    expect(written).toMatchObject({
      kind: 'source', ticker, side: 'BUY', action: 'buy', price: 10, basis: 'topn', reason: null, rank: 1, snapshotId: 's',
      idempotencyKey: null, body: buy.signal.body, time: new Date(buy.signal.time), receivedAt: new Date(buy.signal.receivedAt),
      decidedAt: new Date(buy.decidedAt),
    });
    expect(written.status).toBe('forwarded');
    expect(written.deliveries.map((d) => [d.attempt, d.httpStatus])).toEqual([[1, 503], [2, 200]]);

    // A late copy of attempt 1 (an outbox retried after a crash) does not undo the delivery.
    await applyAuditBatch(pool, [attempt(buy, 1, 'retrying', '2026-11-25T10:00:00Z')], DEPLOYMENT);
    expect((await row(buy)).status).toBe('forwarded');
    // Expiry never overrides a delivery.
    await applyAuditBatch(pool, [{ type: 'expired', signalId: buy.signal.id }], DEPLOYMENT);
    expect((await row(buy)).status).toBe('forwarded');
  });

  it('writes the status of the highest attempt when a decision and its attempts share a batch, whatever their order', async () => {
    const buy = decision('BUY', 10);
    // A late copy of attempt 1 (re-recorded after a crash) queued behind attempt 2.
    await applyAuditBatch(pool, [buy, attempt(buy, 2, 'forwarded', '2026-11-25T10:00:01Z'), attempt(buy, 1, 'retrying', '2026-11-25T10:00:00Z')], DEPLOYMENT);
    expect(await row(buy)).toMatchObject({ status: 'forwarded', reason: null });

    const rejected: DecisionRecord = { ...decision('BUY'), decision: { approved: false, reason: 'not_in_topn', rank: null, snapshotId: 's' } };
    const dead = decision('BUY');
    await applyAuditBatch(pool, [rejected, dead, attempt(dead, 1, 'dead', '2026-11-25T10:00:02Z', 400)], DEPLOYMENT);
    expect(await row(rejected)).toMatchObject({ status: 'rejected', reason: 'not_in_topn', basis: null });
    expect(await row(dead)).toMatchObject({ status: 'dead', reason: 'attempts_exhausted', basis: 'topn' });
  });

  it('keeps positions as the net effect of delivered BUYs and SELLs, in order', async () => {
    const [buy1, sell, buy2] = [decision('BUY', 11), decision('SELL'), decision('BUY', 12)];
    await applyAuditBatch(pool, [buy1, sell, buy2,
      attempt(buy1, 1, 'forwarded', '2026-11-25T11:00:00Z'), attempt(sell, 1, 'forwarded', '2026-11-25T11:00:01Z'), attempt(buy2, 1, 'forwarded', '2026-11-25T11:00:02Z')], DEPLOYMENT);
    expect(await prisma.position.findUnique({ where: { deployment_ticker: { deployment: DEPLOYMENT, ticker } } })).toMatchObject({ openedAt: new Date('2026-11-25T11:00:02Z'), lastPrice: 12, signalId: buy2.signal.id });

    const sellAgain = decision('SELL');
    await applyAuditBatch(pool, [sellAgain, attempt(sellAgain, 1, 'forwarded', '2026-11-25T11:00:03Z')], DEPLOYMENT);
    expect(await prisma.position.findUnique({ where: { deployment_ticker: { deployment: DEPLOYMENT, ticker } } })).toBeNull();
  });

  it('applies a position correction in order with the deliveries of its batch', async () => {
    const position = () => prisma.position.findUnique({ where: { deployment_ticker: { deployment: DEPLOYMENT, ticker } } });
    const close = (at: string): PositionCorrectionRecord => ({ type: 'position', ticker, open: null, at });
    const openByHand = (at: string, lastPrice: number | null): PositionCorrectionRecord => ({ type: 'position', ticker, open: { ticker, openedAt: at, lastPrice, signalId: null }, at });

    // A BUY delivered just before the operator closed by hand: the close is the last word.
    const buy = decision('BUY', 20);
    await applyAuditBatch(pool, [buy, attempt(buy, 1, 'forwarded', '2026-11-25T12:00:00Z'), close('2026-11-25T12:00:01Z')], DEPLOYMENT);
    expect(await position()).toBeNull();

    // Opened by hand, then a BUY delivered: still open since the correction, with the BUY's price.
    const buy2 = decision('BUY', 22);
    await applyAuditBatch(pool, [openByHand('2026-11-25T12:01:00Z', 21), buy2, attempt(buy2, 1, 'forwarded', '2026-11-25T12:01:01Z')], DEPLOYMENT);
    expect(await position()).toMatchObject({ openedAt: new Date('2026-11-25T12:01:00Z'), lastPrice: 22, signalId: null });

    // Closed by hand then opened by hand in one batch: open again, from the second correction.
    await applyAuditBatch(pool, [close('2026-11-25T12:02:00Z'), openByHand('2026-11-25T12:02:01Z', null)], DEPLOYMENT);
    expect(await position()).toMatchObject({ openedAt: new Date('2026-11-25T12:02:01Z'), lastPrice: null, signalId: null });
    await applyAuditBatch(pool, [close('2026-11-25T12:03:00Z')], DEPLOYMENT);
    expect(await position()).toBeNull();
  });

  it('marks an expired signal dead, and returns attempts of signals that have no row instead of failing', async () => {
    const lost = decision('BUY');
    const expiring = decision('BUY');
    await applyAuditBatch(pool, [expiring], DEPLOYMENT);
    const orphans = await applyAuditBatch(pool, [attempt(lost, 1, 'retrying', '2026-11-25T12:00:00Z'), { type: 'expired', signalId: expiring.signal.id }], DEPLOYMENT);
    expect(orphans.map((o) => o.signalId)).toEqual([lost.signal.id]);
    expect(await row(expiring)).toMatchObject({ status: 'dead', reason: 'expired' });
  });
});

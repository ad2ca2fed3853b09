import { forwardJobOptions, type ForwardJob, type SignalJob } from '@tsp/core';
import type { PrismaClient } from '../generated/client';

/**
 * Dead letters: signals whose delivery failed for good, kept in the audit trail with their
 * attempts. Both the forwarder and ingest admin APIs replay them, so the rule lives here, once.
 */

/** What replay needs of the `forward` queue (a BullMQ Queue); db does not depend on BullMQ. */
export interface ForwardQueueLike {
  getJob(id: string): Promise<{ getState(): Promise<string>; remove(): Promise<void> } | undefined>;
  add(name: string, data: ForwardJob, opts: ReturnType<typeof forwardJobOptions>): Promise<unknown>;
}

export type ReplayOutcome = 'replayed' | 'not_found' | 'not_dead';

const LIVE_JOB_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

export function listDeadSignals(prisma: PrismaClient, limit = 100) {
  return prisma.signal.findMany({
    where: { status: 'dead' },
    orderBy: { updatedAt: 'desc' },
    take: Math.min(Math.max(limit, 1), 500),
    include: { deliveries: { orderBy: { attempt: 'asc' } } },
  });
}

/**
 * Sends a dead signal again: same signal id, so the same Idempotency-Key; a fresh set of
 * attempts and a fresh TTL, counted from the replay. Built from the audit row, so it works even
 * when Redis no longer holds the failed job.
 */
export async function replayDeadSignal(prisma: PrismaClient, queue: ForwardQueueLike, id: string, maxAttempts: number): Promise<ReplayOutcome> {
  const row = await prisma.signal.findUnique({ where: { id }, include: { _count: { select: { deliveries: true } } } });
  if (!row) return 'not_found';
  if (row.status !== 'dead') return 'not_dead';

  const existing = await queue.getJob(id);
  if (existing) {
    // A job still live means a replay is already under way.
    if (LIVE_JOB_STATES.has(await existing.getState())) return 'not_dead';
    await existing.remove();
  }
  // Claim the row first: of two concurrent replays, only one gets past this.
  const claimed = await prisma.signal.updateMany({ where: { id, status: 'dead' }, data: { status: 'approved', reason: null } });
  if (claimed.count === 0) return 'not_dead';

  const signal: SignalJob = {
    id: row.id,
    kind: row.kind as SignalJob['kind'],
    ticker: row.ticker,
    side: row.side as SignalJob['side'],
    action: row.action,
    ...(row.price !== null ? { price: row.price } : {}),
    time: row.time.toISOString(),
    receivedAt: row.receivedAt.toISOString(),
    ...(row.idempotencyKey ? { idempotencyKey: row.idempotencyKey } : {}),
    body: row.body as SignalJob['body'],
  };
  const job: ForwardJob = {
    signal,
    basis: row.basis as ForwardJob['basis'],
    rank: row.rank,
    snapshotId: row.snapshotId,
    replayedAt: new Date().toISOString(),
    attemptOffset: row._count.deliveries,
  };
  try {
    await queue.add('forward', job, forwardJobOptions(id, maxAttempts, row.kind === 'manual'));
  } catch (error) {
    await prisma.signal.updateMany({ where: { id, status: 'approved' }, data: { status: row.status, reason: row.reason } });
    throw error;
  }
  return 'replayed';
}

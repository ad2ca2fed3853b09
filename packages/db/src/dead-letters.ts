import type { Queue } from 'bullmq';
import {
  addJobInLane, DECISION_FIELD, deploymentOf, forwardJobOptions, redisKeys,
  type DeadLetterStore, type ForwardJob, type ReplayOutcome, type SignalJob, type TickerLanes,
} from '@tsp/core';
import type { PrismaClient } from '../generated/client';
import { viewOfSignalRow } from './signal-view';

const LIVE_JOB_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

export interface DeadLettersOptions {
  prisma: PrismaClient;
  forwardQueue: Queue;
  lanes: TickerLanes;
  prefix: string;
  maxAttempts: number;
  /** SIGNAL_TTL_SEC: a dead letter received longer ago than this is an old trade; it is replayed only with force. */
  signalTtlSec: number;
}

/**
 * Dead letters: signals whose delivery failed for good, kept in the audit trail with their
 * attempts. A replay sends one again: same signal id, so the same Idempotency-Key; a fresh set of
 * attempts and a fresh TTL, counted from the replay; at the end of its ticker's order, like a
 * signal received now. Built from the audit row, so it works even when Redis no longer holds the
 * failed job.
 */
export class DeadLetters implements DeadLetterStore {
  constructor(private readonly options: DeadLettersOptions) {}

  /** This deployment's signals, and those written before signals were per deployment. */
  private get ours() {
    return { OR: [{ deployment: deploymentOf(this.options.prefix) }, { deployment: null }] };
  }

  async list(limit: number) {
    const rows = await this.options.prisma.signal.findMany({
      where: { status: 'dead', ...this.ours },
      orderBy: { updatedAt: 'desc' },
      take: Math.min(Math.max(limit, 1), 500),
      include: { deliveries: { orderBy: { attempt: 'asc' } } },
    });
    return rows.map(viewOfSignalRow);
  }

  /** How many dead letters wait, by reason (expired, permanent_error, attempts_exhausted); a replay takes one out. */
  async countByReason(): Promise<Record<string, number>> {
    const groups = await this.options.prisma.signal.groupBy({ by: ['reason'], where: { status: 'dead', ...this.ours }, _count: { _all: true } });
    return Object.fromEntries(groups.map((g) => [g.reason ?? 'unknown', g._count._all]));
  }

  async replayable(limit: number) {
    const rows = await this.options.prisma.signal.findMany({
      where: { status: 'dead', NOT: { reason: 'expired' }, ...this.ours },
      orderBy: [{ receivedAt: 'asc' }, { id: 'asc' }],
      take: Math.min(Math.max(limit, 1), 500),
      include: { deliveries: { orderBy: { attempt: 'asc' } } },
    });
    return rows.map(viewOfSignalRow);
  }

  async replay(id: string, { force, includeExpired }: { force: boolean; includeExpired: boolean }, now = Date.now()): Promise<ReplayOutcome> {
    const { prisma, forwardQueue, lanes, prefix, maxAttempts, signalTtlSec } = this.options;
    const row = await prisma.signal.findFirst({ where: { id, ...this.ours }, include: { _count: { select: { deliveries: true } } } });
    if (!row) return { outcome: 'not_found' };
    if (row.status !== 'dead') return { outcome: 'not_dead' };
    if (row.reason === 'expired' && !includeExpired) return { outcome: 'expired' };
    if (!force) {
      // Order first: a person who then confirms an old trade (force) has seen no order warning to skip.
      const outOfOrder = await this.wouldOvertake(row);
      if (outOfOrder) return outOfOrder;
      const ageSec = Math.floor((now - row.receivedAt.getTime()) / 1000);
      if (ageSec > signalTtlSec) return { outcome: 'past_ttl', ageSec, ttlSec: signalTtlSec };
    }

    const existing = await forwardQueue.getJob(id);
    if (existing) {
      // A job still live means a replay is already under way.
      if (LIVE_JOB_STATES.has(await existing.getState())) return { outcome: 'not_dead' };
      await existing.remove();
    }
    // Claim the row first: of two concurrent replays, only one gets past this.
    const claimed = await prisma.signal.updateMany({ where: { id, status: 'dead' }, data: { status: 'approved', reason: null } });
    if (claimed.count === 0) return { outcome: 'not_dead' };

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
      await addJobInLane(lanes, prefix, { queue: forwardQueue, name: 'forward', id, ticker: row.ticker, data: job, opts: forwardJobOptions(id, maxAttempts, signal.side === 'SELL') }, {
        // Its end was recorded as dead: forget it, or the forwarder would take the replay for a finished signal.
        also: (multi) => multi.hdel(redisKeys(prefix).decision(id), DECISION_FIELD.ended),
      });
    } catch (error) {
      await prisma.signal.updateMany({ where: { id, status: 'approved' }, data: { status: row.status, reason: row.reason } });
      throw error;
    }
    return { outcome: 'replayed', deadReason: row.reason };
  }

  /**
   * Why replaying this dead signal now would reach the broker out of order, if it would: a later
   * signal of its ticker was delivered, or is still on its way (in the ticker's lane, which holds
   * only signals not ended, all accepted after this one ended), or an earlier dead one of the
   * ticker waits to be replayed first.
   */
  private async wouldOvertake(row: { id: string; ticker: string; receivedAt: Date }): Promise<ReplayOutcome | null> {
    const { prisma, lanes } = this.options;
    const later = await prisma.signal.findFirst({
      where: { ticker: row.ticker, status: 'forwarded', receivedAt: { gt: row.receivedAt }, ...this.ours },
      orderBy: { receivedAt: 'asc' },
      select: { id: true, receivedAt: true },
    });
    if (later) return { outcome: 'out_of_order', laterSignalId: later.id, laterReceivedAt: later.receivedAt.toISOString() };
    // Signals of the ticker not ended yet; only an earlier dead one replayed just before (replay-all) may be among them.
    const pending = (await lanes.pending(row.ticker)).filter((id) => id !== row.id);
    if (pending.length) {
      const earlier = new Set((await prisma.signal.findMany({
        where: { id: { in: pending }, receivedAt: { lte: row.receivedAt } }, select: { id: true },
      })).map((r) => r.id));
      const laterPending = pending.find((id) => !earlier.has(id));
      if (laterPending) return { outcome: 'out_of_order', laterSignalId: laterPending };
    }
    const earlier = await prisma.signal.findFirst({
      where: { ticker: row.ticker, status: 'dead', receivedAt: { lt: row.receivedAt }, NOT: { reason: 'expired' }, ...this.ours },
      orderBy: { receivedAt: 'asc' },
      select: { id: true },
    });
    return earlier ? { outcome: 'out_of_order', earlierSignalId: earlier.id } : null;
  }
}

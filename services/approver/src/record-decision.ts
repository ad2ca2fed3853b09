import type { Decision, SignalJob } from '@tsp/core';
import { Prisma, type PrismaClient } from '@tsp/db';

const UNIQUE_VIOLATION = 'P2002';

export interface RecordedDecision {
  decision: Decision;
  /** False when the signal was decided before (a job re-run after a crash). */
  isNew: boolean;
  /** True while no delivery has started: only then may the signal be handed to the forwarder. */
  awaitingDelivery: boolean;
}

function decisionOfRow(row: { status: string; reason: string | null; basis: string | null; rank: number | null; snapshotId: string | null }): Decision {
  if (row.status === 'rejected') return { approved: false, reason: row.reason as never, rank: row.rank, snapshotId: row.snapshotId };
  return { approved: true, basis: row.basis as never, rank: row.rank, snapshotId: row.snapshotId };
}

/**
 * Writes the signal and its decision to the audit trail, once. A signal is decided exactly once:
 * if the row exists (a re-run after a crash, or a racing replica), the stored decision wins, so a
 * Top-N that moved in between cannot turn a rejection into a delivery or the reverse.
 */
export async function recordDecision(prisma: PrismaClient, signal: SignalJob, decide: () => Promise<Decision>): Promise<RecordedDecision> {
  const existing = await prisma.signal.findUnique({ where: { id: signal.id } });
  if (existing) return { decision: decisionOfRow(existing), isNew: false, awaitingDelivery: existing.status === 'approved' };

  const decision = await decide();
  try {
    await prisma.signal.create({
      data: {
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
      },
    });
    return { decision, isNew: true, awaitingDelivery: decision.approved };
  } catch (error) {
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === UNIQUE_VIOLATION) {
      const row = await prisma.signal.findUniqueOrThrow({ where: { id: signal.id } });
      return { decision: decisionOfRow(row), isNew: false, awaitingDelivery: row.status === 'approved' };
    }
    throw error;
  }
}

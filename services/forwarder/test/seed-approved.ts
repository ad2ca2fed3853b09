import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import { forwardJobOptions, type ForwardJob, type Side, type SignalJob } from '@tsp/core';
import type { Prisma, PrismaClient } from '@tsp/db';
import { waitFor } from '../../../test/support/helpers';

/** A ticker no other test (or parallel suite) uses, so positions do not collide. */
export const uniqueTicker = (label: string) => `${label}${randomUUID().slice(0, 5)}`.toUpperCase().replace(/[^A-Z0-9]/g, 'X');

/** Puts a signal where the approver leaves an approved one: its audit row, and a job on `forward`. */
export async function seedApproved(
  prisma: PrismaClient,
  forward: Queue,
  options: { /** The signal's id, when the test must know it first. */ id?: string; ticker: string; side?: Side; price?: number; receivedAt?: Date; maxAttempts?: number; manual?: boolean; /** As a replay of a dead letter puts it back. */ replayedAt?: Date; /** BullMQ runs, when not the usual. */ runs?: number },
  /** Runs before the job is queued (e.g. to store the approver's decision hash). */
  beforeQueued?: (signalId: string) => Promise<void>,
): Promise<SignalJob> {
  const side = options.side ?? 'BUY';
  const now = new Date().toISOString();
  const receivedAt = (options.receivedAt ?? new Date()).toISOString();
  const action = side.toLowerCase();
  const signal: SignalJob = {
    id: options.id ?? randomUUID(), kind: options.manual ? 'manual' : 'source', ticker: options.ticker, side, action, price: options.price, time: now, receivedAt,
    body: { ticker: options.ticker, side, action, ...(options.price ? { price: options.price } : {}), time: now, note: 'test' },
  };
  await prisma.signal.create({
    data: {
      id: signal.id, kind: signal.kind, ticker: signal.ticker, side, action, price: options.price ?? null,
      time: new Date(now), receivedAt: new Date(receivedAt), status: 'approved', basis: options.manual ? 'manual' : 'topn', rank: 1, snapshotId: 'test',
      // A signal body is JSON (SignalBody's index signature says unknown, which Prisma's JSON input refuses).
      body: signal.body as Prisma.InputJsonValue,
    },
  });
  await beforeQueued?.(signal.id);
  const job: ForwardJob = { signal, basis: options.manual ? 'manual' : 'topn', rank: 1, snapshotId: 'test', ...(options.replayedAt ? { replayedAt: options.replayedAt.toISOString() } : {}) };
  const jobOptions = forwardJobOptions(signal.id, options.maxAttempts ?? 8, side === 'SELL');
  await forward.add('forward', job, { ...jobOptions, attempts: options.runs ?? jobOptions.attempts });
  return signal;
}

/** The signal's audit row, with its attempts in order, once it has the status (within 15 s). */
export function rowWithStatus(prisma: PrismaClient, id: string, status: string) {
  return waitFor(async () => {
    const row = await prisma.signal.findUnique({ where: { id }, include: { deliveries: { orderBy: { attempt: 'asc' } } } });
    return row?.status === status ? row : null;
  }, 15_000, `status ${status}`);
}

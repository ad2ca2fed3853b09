import { Worker, Queue, UnrecoverableError, type Job } from 'bullmq';
import type IORedis from 'ioredis';
import {
  forwardJobOptions, MAX_STALLED_COUNT, QUEUE, SignalJobSchema,
  type Config, type ForwardJob, type Logger, type PositionBook,
} from '@tsp/core';
import { hasOpenPosition, type PrismaClient } from '@tsp/db';
import type { TopnCache } from './topn-cache';
import { decide } from './decide';
import type { DecisionLedger } from './decision-ledger';
import type { ApproverMetrics } from './approver-metrics';

export interface ApproveWorkerDeps {
  config: Config;
  logger: Logger;
  connection: IORedis;
  prisma: PrismaClient;
  ledger: DecisionLedger;
  positions: PositionBook;
  topn: TopnCache;
  forwardQueue: Queue;
  metrics: ApproverMetrics;
}

/**
 * Decides one signal: record the decision (once), then hand approved signals to the forwarder.
 * Every step is idempotent per signal id, so a crash at any point is repaired by the re-run.
 */
export function approveSignal(deps: ApproveWorkerDeps) {
  const { config, prisma, ledger, topn, forwardQueue, positions } = deps;
  return async (job: Job): Promise<string> => {
    const parsed = SignalJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed signal job: ${parsed.error.message}`);
    const signal = parsed.data;

    // Decided first (no I/O for a BUY), recorded after: a re-run's fresh decision is discarded
    // in favour of the recorded one.
    const { decision, isNew, mayHandOff } = await ledger.record(signal, await decide({
      signal,
      topn: topn.current,
      topnMaxAgeSec: config.topnMaxAgeSec,
      sellPolicy: config.sellPolicy,
      hasOpenPosition: (ticker) => hasOpenPosition(positions, prisma, ticker),
      now: Date.now(),
    }));

    if (decision.approved && mayHandOff) {
      const forward: ForwardJob = { signal, basis: decision.basis, rank: decision.rank, snapshotId: decision.snapshotId };
      // Manual exits jump ahead of queued entries.
      await forwardQueue.add('forward', forward, forwardJobOptions(signal.id, config.forwardMaxAttempts, signal.kind === 'manual'));
    }

    if (isNew) {
      if (decision.approved) deps.metrics.approved.inc({ basis: decision.basis });
      else deps.metrics.rejected.inc({ reason: decision.reason });
      deps.logger.info('signal decided', {
        id: signal.id, ticker: signal.ticker, side: signal.side,
        approved: decision.approved, ...(decision.approved ? { basis: decision.basis } : { reason: decision.reason }),
        rank: decision.rank, snapshot_id: decision.snapshotId,
      });
    }
    return decision.approved ? 'approved' : 'rejected';
  };
}

export function createApproveWorker(deps: ApproveWorkerDeps): Worker {
  const worker = new Worker(QUEUE.signals, approveSignal(deps), {
    connection: deps.connection,
    prefix: deps.config.keyPrefix,
    concurrency: deps.config.workerConcurrency,
    lockDuration: deps.config.jobLockMs,
    // A crashed replica's in-flight decisions are retaken about one lock period later.
    stalledInterval: deps.config.jobLockMs,
    maxStalledCount: MAX_STALLED_COUNT,
  });
  worker.on('failed', (job, error) => {
    deps.logger.warn('deciding a signal failed; it will be retried', { id: job?.id, attempt: job?.attemptsMade, error: error.message });
  });
  worker.on('error', (error) => deps.logger.error('approver worker error', { error: error.message }));
  return worker;
}

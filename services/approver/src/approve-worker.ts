import { Worker, type Job, type Queue } from 'bullmq';
import type IORedis from 'ioredis';
import {
  DECISION_BACKOFF, decisionRetryDelayMs, deliverableSignal, forwardJobOptions, jobLogger, MAX_STALLED_COUNT, parkUntilTurn, QUEUE, RunsHere, salvageSignal, turnOrPark,
  SignalJobSchema, type Config, type Decision, type ForwardJob, type LaneWaker, type Logger, type PositionBook, type TickerLanes,
} from '@tsp/core';
import { hasOpenPosition, type PrismaClient } from '@tsp/db';
import type { TopnCache } from './topn-cache';
import { decide, decidedAtTurn } from './decide';
import type { DecisionLedger } from './decision-ledger';
import type { ApproverMetrics } from './approver-metrics';
import type { LateApprovals } from './late-approvals';

export interface ApproveWorkerDeps {
  config: Config;
  logger: Logger;
  connection: IORedis;
  prisma: PrismaClient;
  ledger: DecisionLedger;
  positions: PositionBook;
  lanes: TickerLanes;
  waker: LaneWaker;
  topn: TopnCache;
  forwardQueue: Queue;
  metrics: ApproverMetrics;
  /** REAPPROVE_WINDOW_SEC's pending BUYs (idle when it is 0). */
  late: LateApprovals;
}


/**
 * Decides one signal: record the decision (once), then hand approved signals to the forwarder.
 * A SELL judged against the position waits, parked, until every earlier signal of its ticker has
 * ended, so it sees the position as it will be when its turn comes. Every step is idempotent per
 * signal id, so a crash at any point is repaired by the re-run.
 */
export function approveSignal(deps: ApproveWorkerDeps) {
  const { config, prisma, ledger, topn, forwardQueue, positions, lanes, waker } = deps;
  const runsHere = new RunsHere();
  const run = async (job: Job, token?: string): Promise<string> => {
    // Every line about the signal carries the request_id of the request that brought it in.
    const logger = jobLogger(deps.logger, job.data);
    const parsed = SignalJobSchema.safeParse(job.data);
    if (!parsed.success) {
      const salvaged = salvageSignal(job.id, job.data, parsed.error.message);
      await waker.wake(await ledger.recordMalformed(salvaged));
      deps.metrics.rejected.inc({ reason: 'malformed' });
      logger.error('malformed signal job recorded as rejected (malformed)', { id: salvaged.id, error: salvaged.error });
      return 'rejected';
    }
    const signal = parsed.data;
    // First, before any wait: a later signal cancels a pending late approval of its ticker.
    const laneSeq = await deps.late.see(signal);

    if (decidedAtTurn(signal, config.sellPolicy)) {
      const turn = await turnOrPark(lanes, runsHere, signal.ticker, signal.id, QUEUE.signals);
      if (turn.dropped.length) logger.error('dropped signals from a ticker lane whose jobs were gone', { ticker: signal.ticker, dropped: turn.dropped });
      if (!turn.go) {
        deps.metrics.laneParks.inc();
        await parkUntilTurn(job, token, async () => (await lanes.turn(signal.ticker, signal.id, QUEUE.signals)).go);
      }
    }

    // Decided first (no I/O for a BUY), recorded after: a re-run's fresh decision is discarded
    // in favour of the recorded one.
    const fresh = await decide({
      signal,
      topn: topn.current,
      topnMaxAgeSec: config.topnMaxAgeSec,
      sellPolicy: config.sellPolicy,
      maxLagSec: config.signalMaxLagSec,
      hasOpenPosition: (ticker) => hasOpenPosition(positions, prisma, ticker),
      now: Date.now(),
    });
    const forwardOf = (approval: Decision & { approved: true }): ForwardJob => ({
      signal: deliverableSignal(signal), basis: approval.basis, rank: approval.rank, snapshotId: approval.snapshotId,
    });
    const forwardOptions = forwardJobOptions(signal.id, config.forwardMaxAttempts, signal.side === 'SELL');
    // An approval's delivery job is added by the script that records it (one round trip).
    const { decision, isNew, mayHandOff, handedOff, wake, headsLane } = await ledger.record(
      signal, fresh, fresh.approved ? { queue: forwardQueue, job: forwardOf(fresh), opts: forwardOptions } : undefined,
    );

    if (decision.approved && mayHandOff && !handedOff) {
      // Decided before (a re-run): what was recorded is handed off again, a no-op while BullMQ holds the job.
      // laneHead spares the forwarder asking the lane again (a round trip per delivery) when nothing is ahead.
      await forwardQueue.add('forward', { ...forwardOf(decision), ...(headsLane ? { laneHead: true } : {}) }, forwardOptions);
    }
    await waker.wake(wake);
    await deps.late.offer(signal, decision, laneSeq);

    if (isNew) {
      if (decision.approved) deps.metrics.approved.inc({ basis: decision.basis });
      else deps.metrics.rejected.inc({ reason: decision.reason });
      if (logger.isInfoEnabled()) {
        logger.info('signal decided', {
          id: signal.id, ticker: signal.ticker, side: signal.side,
          approved: decision.approved, ...(decision.approved ? { basis: decision.basis } : { reason: decision.reason }),
          rank: decision.rank, snapshot_id: decision.snapshotId,
        });
      }
    }
    return decision.approved ? 'approved' : 'rejected';
  };

  return runsHere.track(run);
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
    settings: {
      backoffStrategy: (attemptsMade: number, type?: string) => (type === DECISION_BACKOFF ? decisionRetryDelayMs(attemptsMade) : 0),
    },
  });
  worker.on('failed', (job, error) => {
    const logger = jobLogger(deps.logger, job?.data);
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
      logger.error('deciding a signal failed for good; it stays in the failed jobs (Bull Board) for an operator', { id: job.id, error: error.message });
    } else {
      logger.warn('deciding a signal failed; it will be retried', { id: job?.id, attempt: job?.attemptsMade, error: error.message });
    }
  });
  worker.on('error', (error) => deps.logger.error('approver worker error', { error: error.message }));
  return worker;
}

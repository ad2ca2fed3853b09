import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type IORedis from 'ioredis';
import {
  DESTINATION_BACKOFF, execPipeline, ForwardJobSchema, markDeliveredIn, MAX_STALLED_COUNT, QUEUE, STAT,
  type Config, type DeadReason, type Logger, type PositionBook, type SystemStats,
} from '@tsp/core';
import type { Destination } from './deliver';
import { PermanentDeliveryError, TransientDeliveryError, type AttemptFacts } from './delivery-errors';
import type { AttemptRecord, AuditTrail } from '@tsp/db';
import { LimiterReleasedError, type DestinationRateLimiter } from './rate-limiter';
import type { ForwarderMetrics } from './forwarder-metrics';
import { retryDelayMs } from './retry-backoff';

export interface ForwardWorkerDeps {
  config: Config;
  logger: Logger;
  /** The worker's own connection (BullMQ blocks on it). */
  connection: IORedis;
  /** For the delivery's writes. */
  redis: IORedis;
  destination: Destination;
  limiter: DestinationRateLimiter;
  audit: AuditTrail;
  positions: PositionBook;
  stats: SystemStats;
  metrics: ForwarderMetrics;
}

/** Stop retrying a trade that can no longer be delivered within its TTL. */
class ExpiredSignalError extends UnrecoverableError {}

/**
 * Delivers one approved signal: wait for the global rate limit, POST, record the attempt. A
 * failure is thrown so BullMQ keeps the job (retry with backoff, or failed = dead letter); the
 * job id is the signal id, so every attempt carries the same Idempotency-Key.
 */
export function forwardSignal(deps: ForwardWorkerDeps) {
  const { config, destination, limiter, audit, stats, metrics, logger, positions, redis } = deps;
  return async (job: Job, token?: string): Promise<string> => {
    const parsed = ForwardJobSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError(`malformed forward job: ${parsed.error.message}`);
    const { signal, replayedAt, attemptOffset = 0 } = parsed.data;
    // attemptsMade counts finished attempts; a job retaken after a crash repeats its attempt number.
    const attemptOfJob = job.attemptsMade + 1;
    const attempt = attemptOffset + attemptOfJob;
    const expiresAt = Math.max(Date.parse(signal.receivedAt), replayedAt ? Date.parse(replayedAt) : 0) + config.signalTtlSec * 1000;

    /** Counted here (this replica's /metrics) and in Redis (the relay's, on ingest's /metrics). */
    const countAttempt = async (outcome: 'retry' | 'dead' | 'expired') => {
      metrics.attempts.inc({ outcome });
      await stats.countAttempt(outcome).catch(() => undefined);
    };

    const expire = async () => {
      await countAttempt('expired');
      await stats.increment(STAT.dead).catch(() => undefined);
      await audit.record({ type: 'expired', signalId: signal.id });
      logger.warn('signal expired before it could be delivered', { id: signal.id, ticker: signal.ticker, attempt });
      return new ExpiredSignalError(`not delivered within SIGNAL_TTL_SEC (${config.signalTtlSec} s)`);
    };
    if (Date.now() >= expiresAt) throw await expire();

    let at = new Date();
    const attemptRecord = (facts: AttemptFacts, outcome: Pick<AttemptRecord, 'status' | 'reason' | 'error'>): AttemptRecord => ({
      type: 'attempt', signalId: signal.id, attempt, at: at.toISOString(), httpStatus: facts.httpStatus, latencyMs: facts.latencyMs,
      ticker: signal.ticker, side: signal.side, price: signal.price ?? null, ...outcome,
    });
    let facts: AttemptFacts;
    try {
      // Within this replica, a manual exit also goes first among the deliveries waiting for a slot.
      facts = await limiter.schedule(signal.kind === 'manual', async () => {
        // The wait for a slot may have outlived the signal: never deliver a stale trade.
        if (Date.now() >= expiresAt) throw await expire();
        at = new Date();
        return destination.deliver(signal.id, signal.body);
      });
    } catch (error) {
      if (error instanceof ExpiredSignalError) throw error;
      if (error instanceof LimiterReleasedError) {
        // Shutting down before the request started: hand the job back untouched, no attempt spent.
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
      if (!(error instanceof TransientDeliveryError) && !(error instanceof PermanentDeliveryError)) throw error;
      const permanent = error instanceof PermanentDeliveryError;
      const deadReason: DeadReason | null = permanent ? 'permanent_error' : attemptOfJob >= config.forwardMaxAttempts ? 'attempts_exhausted' : null;
      await countAttempt(deadReason ? 'dead' : 'retry');
      await stats.increment(STAT.failed).catch(() => undefined);
      if (deadReason) await stats.increment(STAT.dead).catch(() => undefined);
      await audit.record(attemptRecord(error.facts, { status: deadReason ? 'dead' : 'retrying', reason: deadReason, error: error.message }));
      logger.warn(deadReason ? 'delivery dead' : 'delivery failed; will retry', { id: signal.id, attempt, error: error.message, reason: deadReason });
      // Dead is final here, whatever `attempts` the job was queued with (an approver configured with
      // another FORWARD_MAX_ATTEMPTS must not buy it more tries).
      if (deadReason) throw new UnrecoverableError(error.message);
      throw error;
    }

    const e2eSeconds = (Date.now() - Date.parse(signal.receivedAt)) / 1000;
    metrics.attempts.inc({ outcome: 'delivered' });
    metrics.e2eSeconds.observe(e2eSeconds);
    // One pipeline, one round trip: the job (and its worker slot) is done right after the answer.
    // The position is in the book before the job completes, so a SELL decided a moment from now
    // already sees it. A failed write fails the job: the retry delivers again under the same key.
    const writes = redis.pipeline();
    stats.countDeliveryIn(writes, e2eSeconds);
    if (signal.side === 'BUY') positions.openIn(writes, { ticker: signal.ticker, openedAt: at.toISOString(), lastPrice: signal.price ?? null, signalId: signal.id });
    else positions.closeIn(writes, signal.ticker);
    audit.recordIn(writes, attemptRecord(facts, { status: 'forwarded', reason: null, error: null }));
    markDeliveredIn(writes, config.keyPrefix, signal.id);
    await execPipeline(writes);
    audit.queued();
    logger.info('signal delivered', { id: signal.id, ticker: signal.ticker, side: signal.side, attempt, http_status: facts.httpStatus, latency_ms: facts.latencyMs });
    return 'forwarded';
  };
}

export function createForwardWorker(deps: ForwardWorkerDeps): Worker {
  const { config } = deps;
  const worker = new Worker(QUEUE.forward, forwardSignal(deps), {
    connection: deps.connection,
    prefix: config.keyPrefix,
    concurrency: config.forwardingWorkers,
    lockDuration: config.jobLockMs,
    // A crashed replica's in-flight deliveries are retaken about one lock period later.
    stalledInterval: config.jobLockMs,
    maxStalledCount: MAX_STALLED_COUNT,
    settings: {
      backoffStrategy: (attemptsMade: number, type?: string, error?: Error) =>
        type === DESTINATION_BACKOFF ? retryDelayMs(attemptsMade, error, { baseMs: config.forwardBackoffBaseMs, maxMs: config.forwardBackoffMaxMs }) : 0,
    },
  });
  worker.on('error', (error) => deps.logger.error('forwarder worker error', { error: error.message }));
  return worker;
}

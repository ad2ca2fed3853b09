import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type IORedis from 'ioredis';
import {
  DESTINATION_BACKOFF, ForwardJobSchema, jobLogger, MAX_STALLED_COUNT, parkUntilTurn, QUEUE, RunsHere, salvageSignal, STAT, turnOrPark, StartAfterDeadlineError, WindowFullError,
  type Config, type DeadReason, type LaneWaker, type Logger, type SignalEnd, type SignalJob, type SystemStats, type TickerLanes, type Turn,
} from '@tsp/core';
import type { AttemptRecord } from '@tsp/db';
import type { Destination } from './deliver';
import { PermanentDeliveryError, TransientDeliveryError, type AttemptFacts } from './delivery-errors';
import { LimiterReleasedError, type DestinationRateLimiter } from './rate-limiter';
import type { ForwarderMetrics } from './forwarder-metrics';
import { retryAfterWaitMs, retryDelayMs } from './retry-backoff';
import type { DeliveryLedger } from './delivery-ledger';
import { UnrecordedDeliveries } from './unrecorded-deliveries';
import { KnownLaneHeads } from './known-lane-heads';

export interface ForwardWorkerDeps {
  config: Config;
  logger: Logger;
  /** The worker's own connection (BullMQ blocks on it). */
  connection: IORedis;
  destination: Destination;
  limiter: DestinationRateLimiter;
  ledger: DeliveryLedger;
  lanes: TickerLanes;
  waker: LaneWaker;
  stats: SystemStats;
  metrics: ForwarderMetrics;
}

/** Stop retrying a trade that can no longer be delivered within its TTL. */
class ExpiredSignalError extends UnrecoverableError {}

/** The start was admitted so long after the signal was last checked that its job's lock may be gone: not used. */
class StaleAdmissionError extends Error {
  constructor() {
    super('the start came too late to use; the delivery is handed back');
    this.name = 'StaleAdmissionError';
  }
}

/** The signal ended while this run waited for a slot (another run of its job ended it): nothing to send. */
class EndedElsewhereError extends Error {
  constructor(readonly end: SignalEnd) {
    super(`the delivery ended ${end} while this run waited; not sent again`);
    this.name = 'EndedElsewhereError';
  }
}

/**
 * Delivers one approved signal: wait for its turn in its ticker's lane, then for the global rate
 * limit, POST, record the attempt. A failure is thrown so BullMQ keeps the job (retry with
 * backoff, or failed = dead letter); the job id is the signal id, so every attempt carries the
 * same Idempotency-Key. An entry not delivered within SIGNAL_TTL_SEC is never sent; an exit of a
 * position tsp holds does not expire (closing late beats holding an unintended position).
 */
export function forwardSignal(deps: ForwardWorkerDeps) {
  const { config, destination, limiter, ledger, stats, metrics, lanes, waker } = deps;
  const unrecorded = new UnrecordedDeliveries();
  const runsHere = new RunsHere();
  const knownHeads = new KnownLaneHeads();

  /** The 2xx came: record it (first, and whatever it takes) and wake the next signal of the ticker. */
  const recordDelivery = async (signal: SignalJob, attempt: AttemptRecord, pastTtl: boolean, logger: Logger) => {
    const e2eSeconds = (Date.now() - Date.parse(signal.receivedAt)) / 1000;
    const { recorded, wake, nextHead } = await unrecorded.recordOrKeep(signal.id, attempt, () => ledger.delivered(signal, attempt, e2eSeconds), logger);
    knownHeads.learn(nextHead);
    if (!recorded) return;
    metrics.attempts.inc({ outcome: 'delivered' });
    metrics.e2eSeconds.observe(e2eSeconds);
    if (pastTtl) metrics.exitsPastTtl.inc();
    await waker.wake(wake);
    if (logger.isInfoEnabled()) {
      logger.info('signal delivered', { id: signal.id, ticker: signal.ticker, side: signal.side, attempt: attempt.attempt, http_status: attempt.httpStatus, latency_ms: attempt.latencyMs });
    }
  };

  const run = async (job: Job, token?: string): Promise<string> => {
    const runStartedAt = Date.now();
    // Every line about the signal carries the request_id of the request that brought it in.
    const logger = jobLogger(deps.logger, job.data);
    const parsed = ForwardJobSchema.safeParse(job.data);
    if (!parsed.success) {
      const salvaged = salvageSignal(job.id, job.data, parsed.error.message);
      const { wake, nextHead } = await ledger.malformed(salvaged, stats.counterFields(STAT.rejected, 'malformed').map((c) => ({ ...c, by: 1 })));
      knownHeads.learn(nextHead);
      await waker.wake(wake);
      logger.error('malformed delivery job recorded as rejected (malformed); nothing was sent', { id: salvaged.id, error: salvaged.error });
      return 'rejected';
    }
    const { signal, replayedAt, attemptOffset = 0, laneHead = false } = parsed.data;
    // attemptsMade counts finished runs; a job retaken after a crash repeats its attempt number. (A
    // number may be skipped after a run that failed for a reason of our own; none is reused.)
    const attempt = attemptOffset + job.attemptsMade + 1;
    const ttlEndsAt = Math.max(Date.parse(signal.receivedAt), replayedAt ? Date.parse(replayedAt) : 0) + config.signalTtlSec * 1000;

    // A 2xx this process saw but could not record yet: record it; never send it again.
    const seen = unrecorded.get(signal.id);
    if (seen) {
      await recordDelivery(signal, seen, false, logger);
      return 'forwarded';
    }
    // Run before (a retry, a crash, a lost reply, a wake after parking): it may have ended already,
    // and its failed attempts at the destination are counted apart from its runs.
    let failedAttempts = 0;
    if (job.attemptsStarted > 1 || job.attemptsMade > 0) {
      const state = await ledger.state(signal.id);
      if (state.ended === 'delivered') return 'forwarded';
      if (state.ended === 'dead') throw new UnrecoverableError('the delivery ended dead before; not sent again');
      failedAttempts = state.failedAttempts;
    }

    const attemptRecord = (at: Date, facts: AttemptFacts, outcome: Pick<AttemptRecord, 'status' | 'reason' | 'error'>): AttemptRecord => ({
      type: 'attempt', signalId: signal.id, attempt, at: at.toISOString(), httpStatus: facts.httpStatus, latencyMs: facts.latencyMs,
      ticker: signal.ticker, side: signal.side, price: signal.price ?? null, ...outcome,
    });
    /** Ends the signal dead: with its last attempt when there was one, else as expired before any could start. */
    const endDead = async (reason: DeadReason, last: AttemptRecord | null) => {
      const { recorded, wake, nextHead } = await ledger.dead(signal, last ?? { type: 'expired', signalId: signal.id }, stats.failureCounters(reason === 'expired' ? 'expired' : 'dead', last !== null));
      knownHeads.learn(nextHead);
      if (recorded) metrics.attempts.inc({ outcome: reason === 'expired' ? 'expired' : 'dead' });
      await waker.wake(wake);
      return recorded;
    };
    const expire = async (last: AttemptRecord | null = null) => {
      await endDead('expired', last);
      logger.warn('signal expired before it could be delivered', { id: signal.id, ticker: signal.ticker, attempt });
      return new ExpiredSignalError(`not delivered within SIGNAL_TTL_SEC (${config.signalTtlSec} s)`);
    };

    // Per-ticker order: only the head of the ticker's lane may go; the rest park until it ends. An
    // entry handed off as its lane's head, or learnt here to head it, still heads it; an exit asks
    // anyway, for the position. A replay is registered again, at the end of its lane, under the id
    // it had: what was learnt of that id is about its earlier place, so a replay always asks.
    const knownHead = knownHeads.take(signal.id) && !replayedAt;
    const turn: Turn = (laneHead || knownHead) && signal.side === 'BUY'
      ? { go: true, positionOpen: false, dropped: [] }
      : await turnOrPark(lanes, runsHere, signal.ticker, signal.id, QUEUE.forward);
    if (turn.dropped.length) logger.error('dropped signals from a ticker lane whose jobs were gone', { ticker: signal.ticker, dropped: turn.dropped });
    if (!turn.go) {
      // An entry waiting for its turn still expires on time; whether a SELL is an exit is known only at its turn.
      if (signal.side === 'BUY' && Date.now() >= ttlEndsAt) throw await expire();
      metrics.laneParks.inc();
      await parkUntilTurn(job, token, async () => (await lanes.turn(signal.ticker, signal.id, QUEUE.forward)).go);
    }
    const isExit = signal.side === 'SELL' && turn.go && turn.positionOpen;
    const expiresAt = isExit ? Infinity : ttlEndsAt;
    if (Date.now() >= expiresAt) throw await expire();
    if (isExit && Date.now() >= ttlEndsAt) logger.warn('delivering an exit older than SIGNAL_TTL_SEC: exits of open positions never expire', { id: signal.id, ticker: signal.ticker, attempt });

    let at = new Date();
    let facts: AttemptFacts;
    try {
      // Exits (and manual exits) go first among the deliveries waiting for a slot.
      // Past half a job lock unrenewed, the lock may be gone and the job retaken elsewhere.
      const lockMayBeLostSince = (since: number) => Date.now() - since > config.jobLockMs / 2;
      let checkedAt = runStartedAt;
      facts = await limiter.schedule(isExit || signal.kind === 'manual', async () => {
        // Nothing between the start's admission and the request but local work: the destination
        // counts arrivals, and the windows' margin covers a second of being out of step, not a
        // Redis call that hangs. An admission that itself took long (Redis stalled meanwhile) may
        // have outlived the job's lock: the start is spent, the job handed back.
        if (lockMayBeLostSince(checkedAt)) throw new StaleAdmissionError();
        // The wait for a slot may have outlived the signal: never deliver a stale trade.
        if (Date.now() >= expiresAt) throw await expire();
        at = new Date();
        return destination.deliver(signal.id, signal.body);
      }, Number.isFinite(expiresAt) ? expiresAt : undefined, async () => {
        // Before asking for a start: the signal may have ended meanwhile. This run waited (a Redis
        // outage) longer than its job's lock lives unrenewed, another replica retook the job and
        // delivered it, and the ticker moved on; sending now would repeat it after a later signal
        // of its ticker. (A shorter wait cannot have lost the lock: no need to ask.)
        if (lockMayBeLostSince(runStartedAt)) {
          const { ended } = await ledger.state(signal.id);
          if (ended) throw new EndedElsewhereError(ended);
        }
        checkedAt = Date.now();
      });
    } catch (error) {
      if (error instanceof ExpiredSignalError) throw error;
      if (error instanceof EndedElsewhereError) {
        if (error.end === 'delivered') return 'forwarded';
        throw new UnrecoverableError(error.message);
      }
      // No start could come before the entry's TTL: it ends now, without using a start.
      if (error instanceof StartAfterDeadlineError) throw await expire();
      if (error instanceof LimiterReleasedError || error instanceof WindowFullError || error instanceof StaleAdmissionError) {
        // Shutting down, or the windows are full for a while, or the start came too late to use:
        // hand the job back, no attempt spent, to come again when a start may be free (it stays
        // its ticker's head meanwhile).
        await job.moveToDelayed(Date.now() + (error instanceof WindowFullError ? error.waitMs : 0), token);
        throw new DelayedError();
      }
      if (!(error instanceof TransientDeliveryError) && !(error instanceof PermanentDeliveryError)) throw error;
      const failed = (status: AttemptRecord['status'], reason: DeadReason | null) => attemptRecord(at, error.facts, { status, reason, error: error.message });
      // A Retry-After that outlasts the signal's TTL ends it now, rather than parking it for nothing.
      if (error instanceof TransientDeliveryError && (error.retryAfterMs ?? 0) > 0 && Date.now() + (error.retryAfterMs ?? 0) >= expiresAt) {
        throw await expire(failed('dead', 'expired'));
      }
      const deadReason: DeadReason | null = error instanceof PermanentDeliveryError ? 'permanent_error' : failedAttempts + 1 >= config.forwardMaxAttempts ? 'attempts_exhausted' : null;
      if (deadReason) {
        await endDead(deadReason, failed('dead', deadReason));
        logger.warn('delivery dead', { id: signal.id, attempt, error: error.message, reason: deadReason });
        // Dead is final here, whatever `attempts` the job was queued with (an approver configured with
        // another FORWARD_MAX_ATTEMPTS must not buy it more tries).
        throw new UnrecoverableError(error.message);
      }
      await ledger.retrying(failed('retrying', null));
      metrics.attempts.inc({ outcome: 'retry' });
      logger.warn('delivery failed; will retry', { id: signal.id, attempt, error: error.message, wait_ms: retryAfterWaitMs(error) || undefined });
      throw error;
    }

    await recordDelivery(signal, attemptRecord(at, facts, { status: 'forwarded', reason: null, error: null }), isExit && Date.now() >= ttlEndsAt, logger);
    return 'forwarded';
  };

  return runsHere.track(run);
}

/**
 * A delivery job that used all its runs without ending (Redis kept failing between steps): it
 * ends dead, attempts_exhausted, like any delivery that could not be made, for a person to replay.
 */
function endGivenUp(deps: ForwardWorkerDeps) {
  return async (job: Job | undefined, error: Error) => {
    if (!job || job.attemptsMade < (job.opts.attempts ?? 1) || error instanceof UnrecoverableError) return;
    const parsed = ForwardJobSchema.safeParse(job.data);
    if (!parsed.success) return;
    const { signal } = parsed.data;
    const logger = jobLogger(deps.logger, job.data);
    try {
      const { recorded, wake } = await deps.ledger.dead(signal, { type: 'gave_up', signalId: signal.id, error: error.message }, deps.stats.failureCounters('dead', false));
      if (recorded) logger.error('delivery given up after every run failed; recorded dead (attempts_exhausted) for replay', { id: signal.id, error: error.message });
      await deps.waker.wake(wake);
    } catch (recordError) {
      logger.error('a delivery given up could not be recorded dead; its ticker\'s next signal goes once its job is seen finished', { id: signal.id, error: (recordError as Error).message });
    }
  };
}

export function createForwardWorker(deps: ForwardWorkerDeps): Worker {
  const { config } = deps;
  const worker = new Worker(QUEUE.forward, forwardSignal(deps), {
    connection: deps.connection,
    // Run by the caller once the destination in force is known.
    autorun: false,
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
  worker.on('failed', (job, error) => void endGivenUp(deps)(job, error));
  worker.on('error', (error) => deps.logger.error('forwarder worker error', { error: error.message }));
  return worker;
}

import type { Queue } from 'bullmq';
import type IORedis from 'ioredis';
import { addJobInLane, currentRequestId, QUEUE, redisKeys, signalJobOptions, type SignalJob, type TickerLanes } from '@tsp/core';
import type { IdempotencyStore } from './idempotency';
import type { ReplicaAck } from './replica-ack';

export type Intake = { status: 'queued' | 'duplicate'; id: string };

/**
 * Accepting a signal is one atomic step in Redis: its job is added, it is registered at the end of
 * its ticker's lane (the order the destination will see), and its idempotency key, if it has one,
 * is marked as its own, all in one MULTI. A 202 is answered only after it ran; anything that
 * fails before answers 503 and leaves nothing half done.
 */
export class SignalIntake {
  constructor(
    private readonly queue: Queue,
    private readonly lanes: TickerLanes,
    private readonly idempotency: IdempotencyStore,
    private readonly prefix: string,
    /** Its transactions' own connection (see LaneEnqueueOptions.connection). */
    private readonly connection: IORedis,
    /** Told of each signal once it is queued (the console's live feed). */
    private readonly announce: (signal: SignalJob) => void = () => undefined,
    /** REDIS_WAIT_REPLICAS: replicas hold the write before the 202 (null: off). */
    private readonly replicaAck: ReplicaAck | null = null,
  ) {}

  /** `urgent`: a manual exit, decided before queued signals of other tickers. */
  async accept(signal: SignalJob, options: { idempotencyKey?: string | null; urgent?: boolean } = {}): Promise<Intake> {
    const key = options.idempotencyKey ?? null;
    let id = signal.id;
    if (key) {
      const claim = await this.idempotency.claim(key, id);
      if (claim.state === 'added') return { status: 'duplicate', id: claim.signalId };
      // A claim whose job was never added (its request failed part-way): this repeat completes it.
      id = claim.signalId;
    }
    // The request's id goes with the job, so the approver's and forwarder's lines about it carry it too.
    const requestId = signal.requestId ?? currentRequestId();
    const job: SignalJob = { ...signal, id, ...(key ? { idempotencyKey: key } : {}), ...(requestId ? { requestId } : {}) };
    const jobKey = redisKeys(this.prefix).job(QUEUE.signals, id);
    await addJobInLane(this.lanes, this.prefix, { queue: this.queue, name: 'signal', id, ticker: job.ticker, data: job, opts: signalJobOptions(id, options.urgent) }, {
      also: (multi) => { if (key) this.idempotency.markAddedIn(multi, key, id, jobKey); },
      prepare: (connection) => this.idempotency.prepare(connection),
      connection: this.connection,
    });
    await this.replicaAck?.confirm();
    this.announce(job);
    return { status: 'queued', id };
  }
}

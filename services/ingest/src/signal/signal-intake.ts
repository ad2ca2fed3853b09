import type { Queue } from 'bullmq';
import type IORedis from 'ioredis';
import { LaneEnqueueScript, signalJobOptions, type SignalJob } from '@tsp/core';
import type { IdempotencyStore } from './idempotency';
import type { ReplicaAck } from './replica-ack';

export type Intake = { status: 'queued' | 'duplicate'; id: string };

/**
 * Accepting a signal is one atomic step in Redis: its job is added, it is registered at the end of
 * its ticker's lane (the order the destination will see), and its idempotency key, if it has one,
 * is marked as its own, all in one script call (LaneEnqueueScript). A 202 is answered only after
 * it ran; anything that fails before answers 503 and leaves nothing half done.
 */
export class SignalIntake {
  private readonly enqueue: LaneEnqueueScript;

  constructor(
    private readonly queue: Queue,
    private readonly idempotency: IdempotencyStore,
    prefix: string,
    /** The connection its script calls go on, not the queue's (see LaneEnqueueOptions.connection). */
    connection: IORedis,
    /** Told of each signal once it is queued (the console's live feed). */
    private readonly announce: (signal: SignalJob) => void = () => undefined,
    /** REDIS_WAIT_REPLICAS: replicas hold the write before the 202 (null: off). */
    private readonly replicaAck: ReplicaAck | null = null,
  ) {
    this.enqueue = new LaneEnqueueScript(prefix, connection);
  }

  /** `urgent`: a manual exit, decided before queued signals of other tickers. `requestId`: the request that brought it. */
  async accept(signal: SignalJob, options: { idempotencyKey?: string | null; urgent?: boolean; requestId?: string } = {}): Promise<Intake> {
    const key = options.idempotencyKey ?? null;
    let id = signal.id;
    if (key) {
      const claim = await this.idempotency.claim(key, id);
      if (claim.state === 'added') return { status: 'duplicate', id: claim.signalId };
      // A claim whose job was never added (its request failed part-way): this repeat completes it.
      id = claim.signalId;
    }
    // The request's id goes with the job, so the approver's and forwarder's lines about it carry it too.
    const requestId = signal.requestId ?? options.requestId;
    const job: SignalJob = { ...signal, id, ...(key ? { idempotencyKey: key } : {}), ...(requestId ? { requestId } : {}) };
    await this.enqueue.add(
      { queue: this.queue, name: 'signal', id, ticker: job.ticker, data: job, opts: signalJobOptions(id, options.urgent) },
      key ? this.idempotency.addedMark(key, id) : undefined,
    );
    await this.replicaAck?.confirm();
    this.announce(job);
    return { status: 'queued', id };
  }
}

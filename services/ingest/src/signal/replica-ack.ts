import type IORedis from 'ioredis';
import type { Logger } from '@tsp/core';

/** Warn at most this often while a replica lags: every signal would say the same. */
const WARN_EVERY_MS = 10_000;

/**
 * REDIS_WAIT_REPLICAS: a signal is answered 202 only once that many replicas hold its write
 * (Redis WAIT on the connection that made it), so a Sentinel failover, which promotes a replica,
 * cannot lose an accepted signal. WAIT covers every earlier write of the connection, so one call
 * after the accepting transaction is enough, whatever other requests share the connection.
 * - The wait times out (a replica down or slow): the signal is on the master and is accepted; a
 *   warning says the guarantee is off, rather than every signal being refused while one replica is.
 * - WAIT fails (the master went away mid-way): the write may be lost, so the signal is not
 *   acknowledged: the caller answers 503, and a sender that repeats with its Idempotency-Key
 *   gets the one signal either way.
 */
export class ReplicaAck {
  private lastWarnAt = 0;

  constructor(
    private readonly connection: IORedis,
    private readonly replicas: number,
    private readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {}

  async confirm(): Promise<void> {
    const acknowledged = await this.connection.wait(this.replicas, this.timeoutMs);
    if (acknowledged >= this.replicas || Date.now() - this.lastWarnAt < WARN_EVERY_MS) return;
    this.lastWarnAt = Date.now();
    this.logger.warn(`accepted signals reach ${acknowledged} of the ${this.replicas} Redis replicas REDIS_WAIT_REPLICAS asks for within ${this.timeoutMs} ms; a failover now could lose them`);
  }
}

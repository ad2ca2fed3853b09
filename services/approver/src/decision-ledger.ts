import type IORedis from 'ioredis';
import { DecisionSchema, redisKeys, type Decision, type SignalJob } from '@tsp/core';
import type { AuditTrail } from '@tsp/db';

/** Long enough for any re-run (a crash, a Redis failover) to find the first decision. */
const DECISION_TTL_SEC = 7 * 24 * 3600;

export interface RecordedDecision {
  decision: Decision;
  /** False when the signal was decided before (a job re-run after a crash, or a racing replica). */
  isNew: boolean;
  /** True until the signal has been handed to the forwarder: only then may it be enqueued there. */
  awaitingHandOff: boolean;
}

/**
 * A signal is decided exactly once. The decision lives in Redis (HSETNX, so of two racing
 * replicas one wins) beside the queues, so deciding never waits for Postgres; the audit row is
 * written through the audit trail, which holds it in its outbox while Postgres is down. If a
 * decision exists, it wins: a Top-N that moved in between cannot turn a rejection into a delivery
 * or the reverse.
 */
export class DecisionLedger {
  constructor(private readonly redis: IORedis, private readonly prefix: string, private readonly audit: AuditTrail) {}

  async record(signal: SignalJob, decide: () => Promise<Decision>): Promise<RecordedDecision> {
    const key = redisKeys(this.prefix).decision(signal.id);
    const existing = await this.redis.hmget(key, 'decision', 'handed_off');
    if (existing[0] !== null) {
      return { decision: DecisionSchema.parse(JSON.parse(existing[0])), isNew: false, awaitingHandOff: existing[1] === null };
    }

    const decision = await decide();
    const [[, won]] = (await this.redis.multi().hsetnx(key, 'decision', JSON.stringify(decision)).expire(key, DECISION_TTL_SEC).exec()) as [[null, number]];
    if (!won) return this.record(signal, decide);
    // Queued before the hand-off, so the signal's row precedes its delivery attempts in the trail.
    await this.audit.record({ type: 'decision', signal, decision, decidedAt: new Date().toISOString() });
    return { decision, isNew: true, awaitingHandOff: decision.approved };
  }

  /** After the forward job is added: a re-run must not add it again once the forwarder may have finished it. */
  async markHandedOff(signalId: string): Promise<void> {
    await this.redis.hset(redisKeys(this.prefix).decision(signalId), 'handed_off', '1');
  }
}

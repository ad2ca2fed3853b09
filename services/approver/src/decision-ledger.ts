import type IORedis from 'ioredis';
import { DECISION_FIELD, DecisionSchema, redisKeys, STAT, type Decision, type SignalJob, type SystemStats } from '@tsp/core';
import type { AuditTrail } from '@tsp/db';

/** Long enough for any re-run (a crash, a Redis failover) to find the first decision. */
const DECISION_TTL_SEC = 7 * 24 * 3600;

/**
 * The first decision of a signal wins (HSETNX). Only the winner queues the audit record and
 * counts the decision, in the same atomic step, so a signal is audited and counted exactly once.
 * KEYS: decision hash, audit outbox, then one hash per counter. ARGV: decision, TTL, audit record,
 * then one field per counter, then the decision and delivered field names. Returns {1} for a new
 * decision, else {0, decision, delivered}.
 */
const RECORD_DECISION = `
local decisionField, deliveredField = ARGV[#ARGV - 1], ARGV[#ARGV]
if redis.call('HSETNX', KEYS[1], decisionField, ARGV[1]) == 0 then
  return {0, redis.call('HGET', KEYS[1], decisionField), redis.call('HGET', KEYS[1], deliveredField)}
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
for i = 3, #KEYS do redis.call('HINCRBY', KEYS[i], ARGV[i + 1], 1) end
return {1}`;

export interface RecordedDecision {
  decision: Decision;
  /** False when the signal was decided before (a job re-run after a crash, or a racing replica). */
  isNew: boolean;
  /**
   * Approved and not known to be delivered: the forward job may be added. Adding it again is safe
   * while BullMQ holds the job (it ignores a job id it has); once the forwarder has delivered it,
   * the job may be gone, and the delivered mark stops a second delivery.
   */
  mayHandOff: boolean;
}

/**
 * A signal is decided exactly once. The decision lives in Redis beside the queues, so deciding
 * never waits for Postgres; the audit row is written through the audit trail, which holds it in
 * its outbox while Postgres is down. If a decision exists, it wins: a Top-N that moved in between
 * cannot turn a rejection into a delivery or the reverse. Recording costs one round trip.
 */
export class DecisionLedger {
  constructor(
    private readonly redis: IORedis,
    private readonly prefix: string,
    private readonly audit: AuditTrail,
    private readonly stats: SystemStats,
  ) {}

  async record(signal: SignalJob, decision: Decision): Promise<RecordedDecision> {
    // Queued before the hand-off, so the signal's row precedes its delivery attempts in the trail.
    const auditRecord = this.audit.encode({ type: 'decision', signal, decision, decidedAt: new Date().toISOString() });
    const counters = decision.approved ? this.stats.counterFields(STAT.approved, decision.basis) : this.stats.counterFields(STAT.rejected, decision.reason);
    const keys = [redisKeys(this.prefix).decision(signal.id), this.audit.outboxKey, ...counters.map((c) => c.key)];
    const args = [JSON.stringify(decision), DECISION_TTL_SEC, auditRecord, ...counters.map((c) => c.field), DECISION_FIELD.decision, DECISION_FIELD.delivered];
    const [won, existing, delivered] = (await this.redis.eval(RECORD_DECISION, keys.length, ...keys, ...args)) as [number, string?, string?];
    if (won) {
      this.audit.queued();
      return { decision, isNew: true, mayHandOff: decision.approved };
    }
    const recorded = DecisionSchema.parse(JSON.parse(existing as string));
    return { decision: recorded, isNew: false, mayHandOff: recorded.approved && delivered == null };
  }
}

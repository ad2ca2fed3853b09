import type IORedis from 'ioredis';
import {
  DECISION_FIELD, DECISION_TTL_SEC, DecisionSchema, LANE_END_LUA, LuaScript, redisKeys, STAT, wakeOf,
  type Decision, type LaneWake, type MalformedSignal, type SignalJob, type SystemStats, type TickerLanes,
} from '@tsp/core';
import type { AuditTrail } from '@tsp/db';

/**
 * The first decision of a signal wins. Only the winner queues the audit record, counts the
 * decision and, for a rejection, ends the signal in its ticker's lane, all in the same atomic
 * step (one script), so a signal is audited, counted and ended exactly once.
 * KEYS: decision hash, audit outbox, lane, parked, then one hash per counter. ARGV: decision, TTL,
 * audit record, signal id, 1 if the decision ends the signal, then one field per counter, then the
 * decision and ended field names. Returns {1, heads, signal to wake, its queue} for a new decision,
 * else {0, heads, decision, ended}; heads is 1 when the signal heads its lane (before a rejection
 * ends it there).
 */
const RECORD_DECISION = new LuaScript('tspRecordDecision', `${LANE_END_LUA}
local decisionField, endedField = ARGV[#ARGV - 1], ARGV[#ARGV]
local heads = redis.call('ZRANGE', KEYS[3], 0, 0)[1] == ARGV[4] and 1 or 0
local recorded = redis.call('HGET', KEYS[1], decisionField)
if recorded then return {0, heads, recorded, redis.call('HGET', KEYS[1], endedField)} end
redis.call('RPUSH', KEYS[2], ARGV[3])
for i = 5, #KEYS do redis.call('HINCRBY', KEYS[i], ARGV[i + 1], 1) end
local wake = {}
if ARGV[5] == '1' then wake = laneEnd(KEYS[3], KEYS[4], ARGV[4]) end
-- Last: a script that fails part-way keeps what it wrote, so the decision that stops a redo comes after everything it would redo.
redis.call('HSET', KEYS[1], decisionField, ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {1, heads, wake[1], wake[2]}`);

/** KEYS: audit outbox, lane, parked, counters... ARGV: audit record, signal id, counter fields... */
const RECORD_MALFORMED = new LuaScript('tspRecordMalformed', `${LANE_END_LUA}
redis.call('RPUSH', KEYS[1], ARGV[1])
for i = 4, #KEYS do redis.call('HINCRBY', KEYS[i], ARGV[i - 1], 1) end
return laneEnd(KEYS[2], KEYS[3], ARGV[2])`);

export interface RecordedDecision {
  decision: Decision;
  /** False when the signal was decided before (a job re-run after a crash, or a racing replica). */
  isNew: boolean;
  /**
   * Approved and not ended: the forward job may be added. Adding it again is safe while BullMQ
   * holds the job (it ignores a job id it has); once the signal has ended, the job may be gone,
   * and `ended` stops a second delivery.
   */
  mayHandOff: boolean;
  /** The next signal of the ticker, parked until this one ended (a rejection ends it). */
  wake: LaneWake | null;
  /** It headed its ticker's lane as it was recorded: it heads it until it ends (see ForwardJob.laneHead). */
  headsLane: boolean;
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
    private readonly lanes: TickerLanes,
  ) {}

  async record(signal: SignalJob, decision: Decision): Promise<RecordedDecision> {
    // Queued before the hand-off, so the signal's row precedes its delivery attempts in the trail.
    const auditRecord = this.audit.encode({ type: 'decision', signal, decision, decidedAt: new Date().toISOString() });
    const counters = decision.approved ? this.stats.counterFields(STAT.approved, decision.basis) : this.stats.counterFields(STAT.rejected, decision.reason);
    const lane = this.lanes.keysOf(signal.ticker);
    const keys = [redisKeys(this.prefix).decision(signal.id), this.audit.outboxKey, lane.lane, lane.parked, ...counters.map((c) => c.key)];
    const args = [
      JSON.stringify(decision), DECISION_TTL_SEC, auditRecord, signal.id, decision.approved ? '0' : '1',
      ...counters.map((c) => c.field), DECISION_FIELD.decision, DECISION_FIELD.ended,
    ];
    const [won, heads, first, second] = (await RECORD_DECISION.run(this.redis, keys, args)) as [number, number, string?, string?];
    const headsLane = heads === 1;
    if (won) {
      this.audit.queued();
      return { decision, isNew: true, mayHandOff: decision.approved, wake: wakeOf([first, second]), headsLane };
    }
    const recorded = DecisionSchema.parse(JSON.parse(first as string));
    return { decision: recorded, isNew: false, mayHandOff: recorded.approved && second == null, wake: null, headsLane };
  }

  /** A job that failed its schema: audited and counted as rejected/malformed, and ended in its lane if its ticker could be read. */
  async recordMalformed(signal: MalformedSignal): Promise<LaneWake | null> {
    const counters = this.stats.counterFields(STAT.rejected, 'malformed');
    const lane = this.lanes.keysOf(signal.ticker);
    const keys = [this.audit.outboxKey, lane.lane, lane.parked, ...counters.map((c) => c.key)];
    const auditRecord = this.audit.encode({ type: 'malformed', signal, stage: 'approver' });
    const reply = await RECORD_MALFORMED.run(this.redis, keys, [auditRecord, signal.id, ...counters.map((c) => c.field)]);
    this.audit.queued();
    return wakeOf(reply);
  }
}

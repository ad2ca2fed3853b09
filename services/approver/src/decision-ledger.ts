import type { JobsOptions, Queue } from 'bullmq';
import type IORedis from 'ioredis';
import {
  BullmqAddInScript, DECISION_FIELD, DECISION_TTL_SEC, DecisionSchema, LANE_END_LUA, LuaScript, redisKeys, STAT, wakeOf,
  type Decision, type ForwardJob, type LaneWake, type MalformedSignal, type SignalJob, type SystemStats, type TickerLanes,
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
const RECORD_DECISION_LUA = `${LANE_END_LUA}
local function recordDecision(KEYS, ARGV)
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
  return {1, heads, wake[1], wake[2]}
end`;

const RECORD_DECISION = new LuaScript('tspRecordDecision', `${RECORD_DECISION_LUA}
return recordDecision(KEYS, ARGV)`);

/**
 * An approval recorded and handed to the forwarder in one script: when this decision is the
 * signal's first, its delivery job is added right after it (BullMQ's own add), so deciding costs
 * one round trip instead of two. A decision made before (a re-run) adds nothing here: the caller
 * hands off what was recorded, as then. The job's data is BullMQ's; when the signal heads its lane,
 * the variant that says so (ForwardJob.laneHead) replaces it. KEYS: the record's, then BullMQ's.
 * ARGV: the number of the record's keys and of its arguments, the record's arguments, the data of
 * the lane-head variant, then BullMQ's. Returns the record's reply, with the add's after it.
 */
const RECORD_AND_HAND_OFF = new BullmqAddInScript('tspRecordAndHandOff', (bullmqAddFunction) => `${RECORD_DECISION_LUA}
${bullmqAddFunction}
local keyCount, argCount = tonumber(ARGV[1]), tonumber(ARGV[2])
local reply = recordDecision({unpack(KEYS, 1, keyCount)}, {unpack(ARGV, 3, argCount + 2)})
if reply[1] ~= 1 then return reply end
local bullArgs = {unpack(ARGV, argCount + 4)}
if reply[2] == 1 then bullArgs[2] = ARGV[argCount + 3] end
local added = bullmqAdd({unpack(KEYS, keyCount + 1)}, bullArgs)
return {reply[1], reply[2], reply[3] or false, reply[4] or false, added}`,
// BullMQ raises its errors from the add's reply; a re-run (nothing added here) answers its job id.
(reply) => (reply as unknown[])[4] ?? null);

/** KEYS: audit outbox, lane, parked, counters... ARGV: audit record, signal id, counter fields... */
const RECORD_MALFORMED = new LuaScript('tspRecordMalformed', `${LANE_END_LUA}
redis.call('RPUSH', KEYS[1], ARGV[1])
for i = 4, #KEYS do redis.call('HINCRBY', KEYS[i], ARGV[i - 1], 1) end
return laneEnd(KEYS[2], KEYS[3], ARGV[2])`);

/** An approval's delivery job, added in the script that records the decision. */
export interface HandOff {
  queue: Queue;
  /** Without `laneHead`: the script sets it when the signal heads its lane. */
  job: ForwardJob;
  opts: JobsOptions;
}

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
  /** The delivery job was added with the decision (record's `handOff`, on a first decision). */
  handedOff: boolean;
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
  /** Built once: redisKeys makes an object of a dozen functions per call. */
  private readonly keys: ReturnType<typeof redisKeys>;

  constructor(
    private readonly redis: IORedis,
    prefix: string,
    private readonly audit: AuditTrail,
    private readonly stats: SystemStats,
    private readonly lanes: TickerLanes,
  ) {
    this.keys = redisKeys(prefix);
  }

  /**
   * Records the decision. With `handOff` (an approval's delivery job), the job is added in the same
   * script when this decision is the signal's first (`handedOff`); a decision made before adds
   * nothing here.
   */
  async record(signal: SignalJob, decision: Decision, handOff?: HandOff): Promise<RecordedDecision> {
    // Queued before the hand-off, so the signal's row precedes its delivery attempts in the trail.
    const auditRecord = this.audit.encode({ type: 'decision', signal, decision, decidedAt: new Date().toISOString() });
    const counters = decision.approved ? this.stats.counterFields(STAT.approved, decision.basis) : this.stats.counterFields(STAT.rejected, decision.reason);
    const lane = this.lanes.keysOf(signal.ticker);
    const keys = [this.keys.decision(signal.id), this.audit.outboxKey, lane.lane, lane.parked, ...counters.map((c) => c.key)];
    const args = [
      JSON.stringify(decision), DECISION_TTL_SEC, auditRecord, signal.id, decision.approved ? '0' : '1',
      ...counters.map((c) => c.field), DECISION_FIELD.decision, DECISION_FIELD.ended,
    ];
    const reply = handOff
      ? await RECORD_AND_HAND_OFF.run(
        null, // on the forward queue's own connection
        { queue: handOff.queue, name: 'forward', id: signal.id, data: handOff.job, opts: handOff.opts },
        keys, [keys.length, args.length, ...args, JSON.stringify({ ...handOff.job, laneHead: true } satisfies ForwardJob)],
      )
      : await RECORD_DECISION.run(this.redis, keys, args);
    const [won, heads, first, second] = reply as [number, number, string?, string?];
    const headsLane = heads === 1;
    if (won) {
      this.audit.queued();
      return { decision, isNew: true, mayHandOff: decision.approved, handedOff: Boolean(handOff), wake: wakeOf([first, second]), headsLane };
    }
    const recorded = DecisionSchema.parse(JSON.parse(first as string));
    return { decision: recorded, isNew: false, mayHandOff: recorded.approved && second == null, handedOff: false, wake: null, headsLane };
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

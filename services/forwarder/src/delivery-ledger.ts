import type IORedis from 'ioredis';
import {
  COUNT_LUA, countArgs, DECISION_FIELD, DECISION_TTL_SEC, execPipeline, LANE_END_LUA, LuaScript, nextHeadOf, POSITION_LUA, positionArgs, redisKeys, wakeOf,
  type CounterIncrement, type LaneWake, type MalformedSignal, type SignalEnd, type SignalJob, type SystemStats, type TickerLanes,
} from '@tsp/core';
import type { AttemptRecord, AuditTrail, ExpiryRecord, GaveUpRecord } from '@tsp/db';

/**
 * Records "delivered" first and everything a delivery changes with it, in one script, only if the
 * signal has not ended before: its position, its counts, its audit record, its end in the
 * ticker's lane. So a retried write, or a re-run of the job after a lost reply, neither counts it
 * twice nor turns a delivered signal into a dead one.
 * KEYS: decision hash, positions, audit outbox, lane, parked, then the counters.
 * ARGV: id, side, ticker, position (JSON), price, audit record, TTL, then counter pairs.
 */
const RECORD_DELIVERED = new LuaScript('tspRecordDelivered', `${POSITION_LUA}${LANE_END_LUA}${COUNT_LUA}
if redis.call('HGET', KEYS[1], '${DECISION_FIELD.ended}') then return {0} end
if ARGV[2] == 'BUY' then positionOpen(KEYS[2], ARGV[3], ARGV[4], ARGV[5]) else redis.call('HDEL', KEYS[2], ARGV[3]) end
redis.call('RPUSH', KEYS[3], ARGV[6])
countAll(6, 8)
local wake = laneEnd(KEYS[4], KEYS[5], ARGV[1])
-- Last: a script that fails part-way keeps what it wrote, so the mark that stops a redo comes after everything it would redo.
redis.call('HSET', KEYS[1], '${DECISION_FIELD.ended}', 'delivered')
redis.call('EXPIRE', KEYS[1], ARGV[7])
return {1, wake[1], wake[2]}`);

/**
 * Records a signal's end without delivery (dead, expired, malformed), unless it ended before.
 * KEYS: decision hash, audit outbox, lane, parked, then the counters. ARGV: id, audit record, TTL,
 * end, then counter pairs.
 */
const RECORD_END = new LuaScript('tspRecordEnd', `${LANE_END_LUA}${COUNT_LUA}
if redis.call('HGET', KEYS[1], '${DECISION_FIELD.ended}') then return {0} end
redis.call('RPUSH', KEYS[2], ARGV[2])
countAll(5, 5)
local wake = laneEnd(KEYS[3], KEYS[4], ARGV[1])
redis.call('HSET', KEYS[1], '${DECISION_FIELD.ended}', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, wake[1], wake[2]}`);

/** What recording an end did: false when the signal had ended before (nothing was written). */
export interface RecordedEnd {
  recorded: boolean;
  wake: LaneWake | null;
  /** The signal that heads the ticker's lane now (parked or not), if any: it heads it until it ends. */
  nextHead: string | null;
}

const recordedEnd = (reply: unknown): RecordedEnd => {
  const [done, id, queue] = reply as [number, string?, string?];
  return { recorded: done === 1, wake: wakeOf([id, queue]), nextHead: nextHeadOf([id]) };
};

/** The forwarder's writes to Redis, each one round trip: a delivery, an end, a retry. */
export class DeliveryLedger {
  private readonly keys;

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
   * What a re-run of the signal's job must know: how it ended, if it did (then it neither sends
   * nor fails it again), and how many attempts at the destination failed so far.
   */
  async state(signalId: string): Promise<{ ended: SignalEnd | null; failedAttempts: number }> {
    const [ended, attempts] = await this.redis.hmget(this.keys.decision(signalId), DECISION_FIELD.ended, DECISION_FIELD.attempts);
    return { ended: ended as SignalEnd | null, failedAttempts: Number(attempts ?? 0) };
  }

  async delivered(signal: SignalJob, attempt: AttemptRecord, e2eSeconds: number): Promise<RecordedEnd> {
    const lane = this.lanes.keysOf(signal.ticker);
    const counters = countArgs(this.stats.deliveryCounters(e2eSeconds));
    const [ticker, position, price] = positionArgs({ ticker: signal.ticker, openedAt: attempt.at, lastPrice: signal.price ?? null, signalId: signal.id });
    const keys = [this.keys.decision(signal.id), this.keys.positions, this.audit.outboxKey, lane.lane, lane.parked, ...counters.keys];
    const reply = await RECORD_DELIVERED.run(this.redis, keys, [
      signal.id, signal.side, ticker, position, price, this.audit.encode(attempt), DECISION_TTL_SEC, ...counters.args,
    ]);
    this.audit.queued();
    return recordedEnd(reply);
  }

  /** A dead delivery: its last attempt (or, expired before an attempt could start, its expiry; or its job's giving up) and its counts. */
  async dead(signal: { id: string; ticker: string }, record: AttemptRecord | ExpiryRecord | GaveUpRecord, counters: CounterIncrement[]): Promise<RecordedEnd> {
    return this.end(signal, this.audit.encode(record), counters);
  }

  /** A delivery job that failed its schema: recorded rejected/malformed, ended in its lane if its ticker could be read. */
  async malformed(signal: MalformedSignal, counters: CounterIncrement[]): Promise<RecordedEnd> {
    return this.end(signal, this.audit.encode({ type: 'malformed', signal, stage: 'forwarder' }), counters);
  }

  /** A failed attempt that will be retried: its record, its count among the signal's attempts, and the relay's counts. */
  async retrying(attempt: AttemptRecord): Promise<void> {
    const pipeline = this.redis.pipeline();
    this.audit.recordIn(pipeline, attempt);
    pipeline.hincrby(this.keys.decision(attempt.signalId), DECISION_FIELD.attempts, 1).expire(this.keys.decision(attempt.signalId), DECISION_TTL_SEC);
    for (const c of this.stats.failureCounters('retry', true)) pipeline.hincrby(c.key, c.field, c.by);
    await execPipeline(pipeline);
    this.audit.queued();
  }

  private async end(signal: { id: string; ticker: string }, auditRecord: string, counters: CounterIncrement[]): Promise<RecordedEnd> {
    const lane = this.lanes.keysOf(signal.ticker);
    const count = countArgs(counters);
    const keys = [this.keys.decision(signal.id), this.audit.outboxKey, lane.lane, lane.parked, ...count.keys];
    const reply = await RECORD_END.run(this.redis, keys, [signal.id, auditRecord, DECISION_TTL_SEC, 'dead' satisfies SignalEnd, ...count.args]);
    this.audit.queued();
    return recordedEnd(reply);
  }
}

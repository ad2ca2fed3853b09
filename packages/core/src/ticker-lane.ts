import type { ChainableCommander, default as IORedis } from 'ioredis';
import { QUEUE, redisKeys, type QueueName } from './names';
import { LuaScript } from './lua-script';

/**
 * Per-ticker order.
 *
 * Guarantee: for one ticker, the destination receives signals in the order ingest acknowledged
 * them, and a signal is sent only after every earlier signal of its ticker has ended (delivered,
 * rejected or dead). Tickers never wait on one another.
 *
 * How: each ticker has a lane, a sorted set of the signals accepted and not yet ended, scored by
 * one sequence taken when the signal is accepted. Ingest registers a signal in the same script call
 * that adds its job (LaneEnqueueScript; addJobInLane's MULTI elsewhere), so a signal is in its
 * lane exactly when its job exists, and before its 202 is sent. A signal may go (be sent; a SELL
 * judged against the position) only while it is the lane's head. Whatever ends a signal removes it
 * from its lane in the same script that records the end, and wakes the next signal if it is parked
 * waiting for its turn. A head whose jobs are gone or finished (it can only happen if someone
 * removes jobs by hand) is dropped so its lane cannot stall. Any number of replicas and any concurrency: every step is one Lua script.
 *
 * Heading a lane lasts until the signal ends: later signals join at the end, and a replayed one
 * is registered again at the end too. So the approver, which sees in its decision script whether
 * the signal heads its lane, marks such a hand-off (ForwardJob.laneHead) and the forwarder sends
 * that entry without asking again; and every script that ends a signal answers which one heads the
 * lane after it, so the forwarder that recorded the end sends that entry without asking either.
 */

/** The signal's jobs, alive when they exist and are not finished (a failed attempt awaiting retry is alive). */
const ALIVE_LUA = `
local function laneSignalAlive(jobKeyPrefix, id, queues)
  for _, queue in ipairs(queues) do
    local key = jobKeyPrefix .. queue .. ':' .. id
    if redis.call('EXISTS', key) == 1 and redis.call('HEXISTS', key, 'finishedOn') == 0 then return true end
  end
  return false
end`;

/**
 * Lua for scripts that end a signal along with other writes: removes it from its lane and answers
 * {next head, queue it is parked in or ''}, or {} when the lane is empty now.
 */
export const LANE_END_LUA = `
local function laneEnd(laneKey, parkedKey, id)
  redis.call('ZREM', laneKey, id)
  redis.call('HDEL', parkedKey, id)
  local head = redis.call('ZRANGE', laneKey, 0, 0)[1]
  if not head then return {} end
  return {head, redis.call('HGET', parkedKey, head) or ''}
end`;

/**
 * Lua for scripts that add a signal's job: registers the signal at the end of its lane, once, and
 * only while its job does not exist yet (run before the add). Answers its sequence, or 0.
 */
export const LANE_REGISTER_LUA = `
local function laneRegister(laneKey, seqKey, jobKey, id)
  if redis.call('EXISTS', jobKey) == 1 or redis.call('ZSCORE', laneKey, id) then return 0 end
  local seq = redis.call('INCR', seqKey)
  redis.call('ZADD', laneKey, seq, id)
  return seq
end`;

/** KEYS: lane, sequence, the job key the signal is added under. ARGV: id. */
const REGISTER = new LuaScript('tspLaneRegister', `${LANE_REGISTER_LUA}
return laneRegister(KEYS[1], KEYS[2], KEYS[3], ARGV[1])`);

/**
 * KEYS: lane, parked, positions. ARGV: id, queue to park in ('' for none), job key prefix, ticker,
 * queue names... Answers {1, position open} when the signal may go, {0, head} when it must wait (it
 * is then marked parked in the queue named, for the end of the head to wake it).
 */
const TURN = new LuaScript('tspLaneTurn', `${ALIVE_LUA}
local queues = {}
for i = 5, #ARGV do queues[#queues + 1] = ARGV[i] end
local dropped = {}
while true do
  local head = redis.call('ZRANGE', KEYS[1], 0, 0)[1]
  if head == nil or head == ARGV[1] or not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
    redis.call('HDEL', KEYS[2], ARGV[1])
    return {1, redis.call('HEXISTS', KEYS[3], ARGV[4]), dropped}
  end
  if laneSignalAlive(ARGV[3], head, queues) then
    if ARGV[2] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
    return {0, head, dropped}
  end
  redis.call('ZREM', KEYS[1], head)
  redis.call('HDEL', KEYS[2], head)
  dropped[#dropped + 1] = head
end`);

/** KEYS: lane, parked. ARGV: id. */
const END = new LuaScript('tspLaneEnd', `${LANE_END_LUA}
return laneEnd(KEYS[1], KEYS[2], ARGV[1])`);

/** A signal to wake: it is parked (a delayed job) in `queue`, and now heads its lane. */
export interface LaneWake {
  signalId: string;
  queue: QueueName;
}

export type Turn =
  | { go: true; positionOpen: boolean; dropped: string[] }
  | { go: false; head: string; dropped: string[] };

/** Of a laneEnd reply: the signal that heads the lane now, parked or not (it heads it until it ends). */
export function nextHeadOf(reply: unknown): string | null {
  const [signalId] = (reply ?? []) as [string?];
  return signalId || null;
}

export function wakeOf(reply: unknown): LaneWake | null {
  const [signalId, queue] = (reply ?? []) as [string?, string?];
  return signalId && (queue === QUEUE.signals || queue === QUEUE.forward) ? { signalId, queue } : null;
}

export class TickerLanes {
  private readonly keys;

  constructor(private readonly redis: IORedis, private readonly prefix: string) {
    this.keys = redisKeys(prefix);
  }

  /** The lane's key and the parked-signals key, for a script that ends a signal with LANE_END_LUA. */
  keysOf(ticker: string): { lane: string; parked: string } {
    return { lane: this.keys.lane(ticker), parked: this.keys.laneParked };
  }

  /** Makes registerIn() usable on MULTIs built on this connection. */
  prepare(connection: IORedis): void {
    REGISTER.on(connection);
  }

  /**
   * Registers the signal at the end of its ticker's lane, within the caller's MULTI (on a
   * connection prepare()d), before the command that adds its job under `jobKey`: registered iff
   * that add creates the job.
   */
  registerIn(multi: ChainableCommander, ticker: string, signalId: string, jobKey: string): ChainableCommander {
    return REGISTER.queue(multi, [this.keys.lane(ticker), this.keys.laneSeq, jobKey], [signalId]);
  }

  /**
   * Whether the signal heads its lane (may go now); if not, it is marked parked in `parkIn`, to be
   * woken there when the head ends (null: only asking, while it waits in its process).
   */
  async turn(ticker: string, signalId: string, parkIn: QueueName | null): Promise<Turn> {
    const [go, value, dropped] = (await TURN.run(
      this.redis, [this.keys.lane(ticker), this.keys.laneParked, this.keys.positions],
      [signalId, parkIn ?? '', `${this.prefix}:`, ticker, QUEUE.signals, QUEUE.forward],
    )) as [number, number | string, string[]];
    return go === 1 ? { go: true, positionOpen: value === 1, dropped } : { go: false, head: String(value), dropped };
  }

  /** Ends the signal in its lane (idempotent); answers the next signal to wake, if any. */
  async end(ticker: string, signalId: string): Promise<LaneWake | null> {
    return wakeOf(await END.run(this.redis, [this.keys.lane(ticker), this.keys.laneParked], [signalId]));
  }

  /** The signals of the ticker not ended yet, in order. */
  async pending(ticker: string): Promise<string[]> {
    return this.redis.zrange(this.keys.lane(ticker), '0', '-1');
  }
}

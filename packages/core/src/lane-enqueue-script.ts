import type IORedis from 'ioredis';
import type { LaneJob } from './lane-enqueue';
import { BullmqAddInScript } from './bullmq-add-in-script';
import { redisKeys, type QueueName } from './names';
import { LANE_REGISTER_LUA } from './ticker-lane';

/** A key set (its TTL kept) in the same script once the job exists: an idempotency key marked `added`. */
export interface MarkOnAdd {
  key: string;
  value: string;
}

/**
 * Adds a job and registers it in its ticker's lane in one Lua script call: the same guarantee as
 * addJobInLane's MULTI (registered iff the add creates the job, before anyone learns of it), at
 * the price of one command. The MULTI of a lane registration and BullMQ's add cost ingest about a
 * fifth of its CPU per signal: ioredis builds a transaction object, four commands and their
 * replies, and Redis runs MULTI and EXEC around two scripts.
 *
 * BullMQ's own add runs inside the script (BullmqAddInScript), and its reply goes back to BullMQ,
 * which raises its own errors from it.
 *
 * The connection is the caller's (see LaneEnqueueOptions.connection): a script run directly, not in
 * a MULTI, is loaded again by ioredis if Redis lost it (NOSCRIPT), so nothing here reloads scripts.
 */
export class LaneEnqueueScript {
  private readonly script = new BullmqAddInScript('tspLaneAdd', laneAddLua);
  /** Built once: redisKeys makes an object of a dozen functions per call. */
  private readonly keys;

  constructor(prefix: string, private readonly connection: IORedis) {
    this.keys = redisKeys(prefix);
  }

  async add(job: LaneJob, mark?: MarkOnAdd): Promise<void> {
    const { keys } = this;
    const ownKeys = [keys.lane(job.ticker), keys.laneSeq, keys.job(job.queue.name as QueueName, job.id), ...(mark ? [mark.key] : [])];
    await this.script.run(this.connection, job, ownKeys, [job.id, mark?.value ?? '']);
  }
}

/**
 * KEYS: lane, lane sequence, the job's key, [the key to mark,] BullMQ's keys. ARGV: signal id, the
 * value to mark ('' for none), BullMQ's arguments. BullMQ's script reads KEYS and ARGV by index, so
 * it gets tables of its own; a script is not rolled back on error, so the order is that of the MULTI.
 */
function laneAddLua(bullmqAddFunction: string): string {
  return `${LANE_REGISTER_LUA}
${bullmqAddFunction}
local own = ARGV[2] ~= '' and 4 or 3
laneRegister(KEYS[1], KEYS[2], KEYS[3], ARGV[1])
local added = bullmqAdd({unpack(KEYS, own + 1)}, {unpack(ARGV, 3)})
if own == 4 and redis.call('EXISTS', KEYS[3]) == 1 then redis.call('SET', KEYS[4], ARGV[2], 'KEEPTTL') end
return added`;
}

import { Job } from 'bullmq';
import type IORedis from 'ioredis';
import { scriptsOf, type LaneJob } from './lane-enqueue';
import { LuaScript } from './lua-script';
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
 * BullMQ stays the one author of its job format: the job is added through BullMQ's own Job.addJob,
 * which hands its add command (name and arguments) to a `runCommand` of ours; that command's Lua,
 * as BullMQ defined it on the queue's connection, runs inside ours as a function, with its own keys
 * and arguments. Its reply goes back to BullMQ, which raises its own errors from it. One script per
 * BullMQ add command (standard, prioritized, delayed), built the first time it is needed.
 *
 * The connection is the caller's (see LaneEnqueueOptions.connection): a script run directly, not in
 * a MULTI, is loaded again by ioredis if Redis lost it (NOSCRIPT), so nothing here reloads scripts.
 */
export class LaneEnqueueScript {
  private readonly scripts = new Map<string, LuaScript>();
  /** Built once: redisKeys makes an object of a dozen functions per call. */
  private readonly keys;

  constructor(prefix: string, private readonly connection: IORedis) {
    this.keys = redisKeys(prefix);
  }

  async add(job: LaneJob, mark?: MarkOnAdd): Promise<void> {
    const { keys } = this;
    const queueScripts = scriptsOf((await job.queue.getBackend().client) as unknown as IORedis);
    const ownKeys = [keys.lane(job.ticker), keys.laneSeq, keys.job(job.queue.name as QueueName, job.id), ...(mark ? [mark.key] : [])];
    const ownArgs = [job.id, mark?.value ?? ''];
    const addInLane = {
      runCommand: (name: string, bullArgs: (string | number)[]) => {
        const numberOfKeys = queueScripts[name]?.numberOfKeys;
        if (numberOfKeys == null) throw new Error(`BullMQ's ${name} is not defined on the queue's connection`);
        const bullKeys = bullArgs.slice(0, numberOfKeys);
        return this.scriptFor(name, queueScripts[name].lua).run(this.connection, [...ownKeys, ...bullKeys.map(String)], [...ownArgs, ...bullArgs.slice(numberOfKeys)]);
      },
    };
    await new Job(job.queue, job.name, job.data, { ...job.opts, jobId: job.id }, job.id).addJob(addInLane as never);
  }

  private scriptFor(bullCommand: string, bullLua: string): LuaScript {
    let script = this.scripts.get(bullCommand);
    if (!script) {
      script = new LuaScript(`tspLaneAdd_${bullCommand.replace(/\W/g, '_')}`, laneAddLua(bullLua));
      this.scripts.set(bullCommand, script);
    }
    return script;
  }
}

/**
 * KEYS: lane, lane sequence, the job's key, [the key to mark,] BullMQ's keys. ARGV: signal id, the
 * value to mark ('' for none), BullMQ's arguments. BullMQ's script reads KEYS and ARGV by index, so
 * it gets tables of its own; a script is not rolled back on error, so the order is that of the MULTI.
 */
function laneAddLua(bullLua: string): string {
  return `${LANE_REGISTER_LUA}
local function bullmqAdd(KEYS, ARGV)
${bullLua}
end
local own = ARGV[2] ~= '' and 4 or 3
laneRegister(KEYS[1], KEYS[2], KEYS[3], ARGV[1])
local added = bullmqAdd({unpack(KEYS, own + 1)}, {unpack(ARGV, 3)})
if own == 4 and redis.call('EXISTS', KEYS[3]) == 1 then redis.call('SET', KEYS[4], ARGV[2], 'KEEPTTL') end
return added`;
}

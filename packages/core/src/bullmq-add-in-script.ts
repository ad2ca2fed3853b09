import { Job, type JobsOptions, type Queue } from 'bullmq';
import type IORedis from 'ioredis';
import { scriptsOf } from './lane-enqueue';
import { LuaScript } from './lua-script';

/** A job to add: BullMQ builds its stored form (Job.addJob); the id is the signal's. */
export interface ScriptedJob {
  queue: Queue;
  name: string;
  /** The signal id, which is also the job id. */
  id: string;
  data: unknown;
  opts: JobsOptions;
}

/**
 * Adds a BullMQ job from inside a Lua script of ours, so that the add and the writes around it are
 * one atomic command and one round trip. BullMQ stays the one author of its job format: the job is
 * added through BullMQ's own Job.addJob, which hands its add command (name and arguments) to a
 * `runCommand` of ours; that command's Lua, as BullMQ defined it on the queue's connection, becomes
 * a function `bullmqAdd(KEYS, ARGV)` inside the script `wrap` builds around it, which gets our keys
 * first and BullMQ's after them, our arguments first and BullMQ's after them. One script per BullMQ
 * add command (standard, prioritized, delayed), built the first time it is needed.
 *
 * Relies on two BullMQ internals, pinned with BullMQ (6.7.0, patched) and checked by
 * packages/core/test/bullmq-add-in-script.test.ts and lane-enqueue-script.test.ts: the scripts ioredis keeps on the queue's
 * connection (`scriptsSet`), and Job.addJob sending its command through `runCommand`.
 */
export class BullmqAddInScript {
  private readonly scripts = new Map<string, LuaScript>();

  constructor(
    private readonly name: string,
    /** The whole script around `bullmqAddFunction`, which defines `local function bullmqAdd(KEYS, ARGV)`. */
    private readonly wrap: (bullmqAddFunction: string) => string,
    /** What of our script's reply is the add's reply, handed back to BullMQ (which raises its errors from it). */
    private readonly bullmqReplyOf: (reply: unknown) => unknown = (reply) => reply,
  ) {}

  /**
   * Runs our script with `ownKeys` and `ownArgs` ahead of BullMQ's; answers our script's reply. On
   * `connection`, or with null on the queue's own: it does not auto-pipeline, so a script first
   * defined on it in the middle of the traffic cannot miss a pipeline already open (see
   * LuaScript.defineAll).
   */
  async run(connection: IORedis | null, job: ScriptedJob, ownKeys: string[], ownArgs: (string | number)[]): Promise<unknown> {
    const queueConnection = (await job.queue.getBackend().client) as unknown as IORedis;
    const queueScripts = scriptsOf(queueConnection);
    let reply: unknown;
    const inOurScript = {
      runCommand: async (command: string, bullArgs: (string | number)[]) => {
        const numberOfKeys = queueScripts[command]?.numberOfKeys;
        if (numberOfKeys == null) throw new Error(`BullMQ's ${command} is not defined on the queue's connection`);
        const bullKeys = bullArgs.slice(0, numberOfKeys).map(String);
        reply = await this.scriptFor(command, queueScripts[command].lua).run(connection ?? queueConnection, [...ownKeys, ...bullKeys], [...ownArgs, ...bullArgs.slice(numberOfKeys)]);
        return this.bullmqReplyOf(reply);
      },
    };
    await new Job(job.queue, job.name, job.data, { ...job.opts, jobId: job.id }, job.id).addJob(inOurScript as never);
    return reply;
  }

  private scriptFor(bullCommand: string, bullLua: string): LuaScript {
    let script = this.scripts.get(bullCommand);
    if (!script) {
      script = new LuaScript(`${this.name}_${bullCommand.replace(/\W/g, '_')}`, this.wrap(`local function bullmqAdd(KEYS, ARGV)\n${bullLua}\nend`));
      this.scripts.set(bullCommand, script);
    }
    return script;
  }
}

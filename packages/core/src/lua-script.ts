import type { ChainableCommander, default as IORedis } from 'ioredis';

type ScriptArg = string | number;
type WithCommand = Record<string, (...args: ScriptArg[]) => Promise<unknown>>;

/**
 * A Lua script run as EVALSHA (ioredis's defineCommand: loaded once, loaded again if Redis lost
 * it), not EVAL: EVAL sends the whole script text with every call, which on the hot path cost the
 * services more CPU writing to their sockets than the commands themselves.
 */
export class LuaScript {
  /**
   * Every script of the process, to be defined on each connection as it is made (defineAll):
   * defining one later, on a connection that auto-pipelines, races with the batch already open.
   */
  private static readonly all: LuaScript[] = [];

  /** Defines every script on a new connection, before it sends anything. */
  static defineAll(redis: IORedis): void {
    for (const script of LuaScript.all) script.on(redis);
  }

  /** `name`: unique among the scripts of a connection (ioredis adds it as a method). */
  constructor(readonly name: string, readonly lua: string) {
    LuaScript.all.push(this);
  }

  /**
   * Defines the script on a connection, once; a pipeline or MULTI built on it afterwards has it too.
   * The services' connections have every script from the start (core's connection factories call
   * defineAll); this covers connections made elsewhere (tests, BullMQ's own).
   */
  on(redis: IORedis): this {
    if (typeof (redis as unknown as WithCommand)[this.name] !== 'function') redis.defineCommand(this.name, { lua: this.lua });
    return this;
  }

  run(redis: IORedis, keys: string[], args: ScriptArg[] = []): Promise<unknown> {
    this.on(redis);
    return (redis as unknown as WithCommand)[this.name].call(redis, keys.length, ...keys, ...args);
  }

  /** Adds a call to a pipeline or MULTI whose connection has the script (see on()). */
  queue(pipeline: ChainableCommander, keys: string[], args: ScriptArg[] = []): ChainableCommander {
    const command = (pipeline as unknown as Record<string, (...a: ScriptArg[]) => ChainableCommander>)[this.name];
    if (typeof command !== 'function') throw new Error(`the Lua script ${this.name} is not defined on this pipeline's connection`);
    return command.call(pipeline, keys.length, ...keys, ...args);
  }
}

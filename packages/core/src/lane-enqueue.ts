import { Job } from 'bullmq';
import type { ChainableCommander, default as IORedis } from 'ioredis';
import { redisKeys, type QueueName } from './names';
import { execPipeline } from './redis';
import type { TickerLanes } from './ticker-lane';
import type { ScriptedJob } from './bullmq-add-in-script';

/** A signal's job and the ticker whose lane it joins. */
export interface LaneJob extends ScriptedJob {
  ticker: string;
}

/**
 * Adds a signal's job and registers the signal in its ticker's lane in one MULTI: both happen or
 * neither, so a lane never waits for a job that does not exist, and a signal is in its lane before
 * anyone learns of it. `also` adds more commands to the same transaction. The job's id is the
 * signal's, so adding one BullMQ still holds is a no-op (and its registration too).
 */
export interface LaneEnqueueOptions {
  /** More commands for the same transaction. */
  also?: (multi: ChainableCommander) => void;
  /** Defines on the transaction's connection the scripts `also` queues (see LuaScript.on). */
  prepare?: (connection: IORedis) => void;
  /**
   * A connection of the caller's for the transactions, instead of the queue's: ioredis copies every
   * script defined on a connection into each MULTI built on it, and BullMQ defines about seventy on
   * the queue's, which made building the MULTI cost ingest a sixth of its CPU per signal. On this
   * one only the commands that add a job are defined (BullMQ's own, taken from the queue's
   * connection). It must not auto-pipeline.
   */
  connection?: IORedis;
}

export async function addJobInLane(lanes: TickerLanes, prefix: string, job: LaneJob, options: LaneEnqueueOptions = {}): Promise<void> {
  const queueClient = (await job.queue.getBackend().client) as unknown as IORedis;
  const client = options.connection ?? queueClient;
  if (options.connection) adoptAddCommands(queueClient, options.connection);
  lanes.prepare(client);
  options.prepare?.(client);
  const transaction = () => {
    const multi = client.multi();
    // BullMQ's way to send its commands on a transaction (it adds the same to the MULTIs it builds).
    const runnable = multi as unknown as { runCommand?: (name: string, args: unknown[]) => unknown } & Record<string, (...args: unknown[]) => unknown>;
    runnable.runCommand ??= (name, args) => runnable[name](...args);
    lanes.registerIn(multi, job.ticker, job.id, redisKeys(prefix).job(job.queue.name as QueueName, job.id));
    // BullMQ queues its add command on the transaction synchronously; the promise settles on exec.
    void new Job(job.queue, job.name, job.data, { ...job.opts, jobId: job.id }, job.id).addJob(multi as never).catch(() => undefined);
    options.also?.(multi);
    return multi;
  };
  try {
    await execPipeline(transaction());
  } catch (error) {
    // Scripts flushed under a live connection (SCRIPT FLUSH; a restart comes with a new connection,
    // which loads them by itself): inside a MULTI, nothing reloads them, so load them and go again.
    // Nothing was written: the commands of a MULTI refused like this all are.
    if (!/NOSCRIPT/.test(String((error as Error)?.message))) throw error;
    await reloadScripts(client);
    await execPipeline(transaction());
  }
}

/** The scripts ioredis has defined on a connection (BullMQ's commands among them), by command name. */
export type DefinedScripts = Record<string, { lua: string; numberOfKeys: number | null }>;
export const scriptsOf = (connection: IORedis) => (connection as unknown as { scriptsSet: DefinedScripts }).scriptsSet;

/** Connections that have BullMQ's add commands already: looking again cost ingest 2 % of its CPU. */
const adopted = new WeakSet<IORedis>();

/** Defines on `connection` the commands BullMQ adds jobs with (addStandardJob:<version>, …), as the queue's connection has them. */
function adoptAddCommands(queueClient: IORedis, connection: IORedis): void {
  if (adopted.has(connection)) return;
  const defined = scriptsOf(connection);
  for (const [name, script] of Object.entries(scriptsOf(queueClient))) {
    if (!/^add[A-Za-z]*Job:/.test(name)) continue;
    // Found on the queue's connection (BullMQ defined its commands): once is enough.
    adopted.add(connection);
    if (name in defined) continue;
    connection.defineCommand(name, { lua: script.lua, ...(script.numberOfKeys !== null ? { numberOfKeys: script.numberOfKeys } : {}) });
  }
}

/** Loads every script defined on the connection (BullMQ's and tsp's) into Redis's script cache. */
async function reloadScripts(client: IORedis): Promise<void> {
  await Promise.all(Object.values(scriptsOf(client)).map((script) => client.script('LOAD', script.lua)));
}

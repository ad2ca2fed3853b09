import { Job, type JobsOptions, type Queue } from 'bullmq';
import type { ChainableCommander } from 'ioredis';
import { redisKeys, type QueueName } from './names';
import { execPipeline } from './redis';
import type { TickerLanes } from './ticker-lane';

export interface LaneJob {
  queue: Queue;
  name: string;
  /** The signal id, which is also the job id. */
  id: string;
  ticker: string;
  data: unknown;
  opts: JobsOptions;
}

/**
 * Adds a signal's job and registers the signal in its ticker's lane in one MULTI: both happen or
 * neither, so a lane never waits for a job that does not exist, and a signal is in its lane before
 * anyone learns of it. `also` adds more commands to the same transaction. The job's id is the
 * signal's, so adding one BullMQ still holds is a no-op (and its registration too).
 */
export async function addJobInLane(lanes: TickerLanes, prefix: string, job: LaneJob, also?: (multi: ChainableCommander) => void): Promise<void> {
  const multi = (await job.queue.getBackend().client).multi() as unknown as ChainableCommander;
  lanes.registerIn(multi, job.ticker, job.id, redisKeys(prefix).job(job.queue.name as QueueName, job.id));
  // BullMQ queues its add command on the transaction synchronously; the promise settles on exec.
  void new Job(job.queue, job.name, job.data, { ...job.opts, jobId: job.id }, job.id).addJob(multi as never).catch(() => undefined);
  also?.(multi);
  await execPipeline(multi);
}

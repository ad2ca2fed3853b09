import { DelayedError, type Job, type Queue } from 'bullmq';
import type { Logger } from './logger';
import type { QueueName } from './names';
import type { LaneWake } from './ticker-lane';

/**
 * A parked signal is woken when the signal ahead of it ends; this is only the net under a wake-up
 * that never came (its sender died between recording the end and waking), bounding the delay.
 */
export const PARK_RECHECK_MS = 15_000;

/**
 * Parks a job until its signal heads its lane: moves it to BullMQ's delayed set (no attempt is
 * spent) and throws DelayedError, which the processor must let through. `headsNow` asks once more
 * after parking: the signal ahead may have ended while this one was being parked, after the end
 * looked for someone to wake.
 */
export async function parkUntilTurn(job: Job, token: string | undefined, headsNow: () => Promise<boolean>): Promise<never> {
  await job.moveToDelayed(Date.now() + PARK_RECHECK_MS, token);
  if (await headsNow()) await job.promote().catch(() => undefined);
  throw new DelayedError();
}

/** Wakes the signal that now heads its lane, if it is parked: its delayed job is promoted to run now. */
export class LaneWaker {
  constructor(private readonly queues: Partial<Record<QueueName, Queue>>, private readonly logger: Logger) {}

  async wake(wake: LaneWake | null): Promise<void> {
    if (!wake) return;
    try {
      const job = await this.queues[wake.queue]?.getJob(wake.signalId);
      // Not delayed (yet): it is still being parked, and its own second look will find its turn.
      if (job && (await job.isDelayed())) await job.promote();
    } catch (error) {
      this.logger.debug('could not wake a parked signal; it looks again within seconds', { id: wake.signalId, error: (error as Error).message });
    }
  }
}

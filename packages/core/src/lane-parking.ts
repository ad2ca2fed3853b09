import { DelayedError, type Job, type Queue } from 'bullmq';
import type { Logger } from './logger';
import type { QueueName } from './names';
import type { LaneWake, TickerLanes, Turn } from './ticker-lane';

/**
 * A parked signal is woken when the signal ahead of it ends; this is only the net under a wake-up
 * that never came (its sender died between recording the end and waking), bounding the delay.
 */
export const PARK_RECHECK_MS = 15_000;

/**
 * Parking costs a delayed job, a wake-up and a second run of the job; a look at the lane costs one
 * script. So a signal whose head is about to end waits in its process first, holding its worker
 * slot: while the head's run is in this very process, or for a few short looks (under concurrency
 * the approver hands one ticker's signals over a few milliseconds out of order). Bounded, so a
 * slot is never held for long; then it parks.
 */
const WAIT_HERE_MAX_MS = 1000;
const SHORT_LOOKS_MS = [2, 5, 10, 20];

/** The signals whose jobs run in this process now, for a signal behind one of them to wait for its end. */
export class RunsHere {
  private readonly runs = new Map<string, Promise<void>>();

  /** The processor, keeping note of the signal (the job id) while it runs. */
  track<A extends unknown[], R>(processor: (job: Job, ...rest: A) => Promise<R>): (job: Job, ...rest: A) => Promise<R> {
    return async (job, ...rest) => {
      const signalId = String(job.id);
      let end!: () => void;
      const run = new Promise<void>((resolve) => { end = resolve; });
      this.runs.set(signalId, run);
      try {
        return await processor(job, ...rest);
      } finally {
        if (this.runs.get(signalId) === run) this.runs.delete(signalId);
        end();
      }
    };
  }

  /** Waits up to `ms` for the signal's run here to end; false at once when it does not run here. */
  async ended(signalId: string, ms: number): Promise<boolean> {
    const run = this.runs.get(signalId);
    if (!run) return false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([run, new Promise<void>((resolve) => { timer = setTimeout(resolve, ms); })]);
    clearTimeout(timer);
    return true;
  }
}

/**
 * The signal's turn in its lane, waiting in the process for a head about to end (see
 * WAIT_HERE_MAX_MS). Not go: the signal is marked parked in `parkIn`, and must park.
 */
export async function turnOrPark(lanes: TickerLanes, runs: RunsHere, ticker: string, signalId: string, parkIn: QueueName): Promise<Turn> {
  const deadline = Date.now() + WAIT_HERE_MAX_MS;
  const dropped: string[] = [];
  const look = async (mark: QueueName | null) => {
    const turn = await lanes.turn(ticker, signalId, mark);
    dropped.push(...turn.dropped);
    return turn;
  };
  let turn = await look(null);
  let looks = 0;
  while (!turn.go && Date.now() < deadline) {
    if (!(await runs.ended(turn.head, deadline - Date.now()))) {
      if (looks >= SHORT_LOOKS_MS.length) break;
      await sleep(SHORT_LOOKS_MS[looks++]);
    }
    turn = await look(null);
  }
  // Marked parked by the same look that finds it must wait: the head's end then wakes it.
  if (!turn.go) turn = await look(parkIn);
  return { ...turn, dropped };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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

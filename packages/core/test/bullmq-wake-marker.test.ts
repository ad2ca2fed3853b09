import type IORedis from 'ioredis';
import { Job, Queue, Worker } from 'bullmq';
import { redisConnectionsFor, uniquePrefix } from '../../../test/support/helpers';

/**
 * tsp patches BullMQ (patches/bullmq@6.7.0.patch): a worker that takes a job wakes another idle
 * worker only when another job is there for it, instead of after every job (each idle worker then
 * fetched once more for nothing). These tests hold the half that must stay: with jobs waiting,
 * a second idle worker is woken at once, for plain and for prioritized jobs (exits are prioritized).
 */
describe("BullMQ's wake-up marker, as tsp's patch leaves it", () => {
  const prefix = uniquePrefix('bullmq-marker');
  const connection = redisConnectionsFor(prefix);

  /** Two workers of concurrency 1, each holding its job until released; answers who took which. */
  async function twoIdleWorkers(queueName: string) {
    const takenBy = new Map<string, string>();
    const releases: (() => void)[] = [];
    const started: string[] = [];
    const workers = ['a', 'b'].map((name) => new Worker(queueName, async (job: Job) => {
      takenBy.set(job.id!, name);
      started.push(job.id!);
      await new Promise<void>((resolve) => releases.push(resolve));
    }, { connection: connection(), prefix, concurrency: 1, drainDelay: 30 }));
    await Promise.all(workers.map((w) => w.waitUntilReady()));
    // Both are blocked waiting for a marker before any job exists.
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { takenBy, releases, started, workers };
  }

  /** Waits up to 10 s: a third of the workers' 30 s block, so only a marker can have woken them. */
  async function untilStarted(started: string[], count: number) {
    for (let i = 0; i < 200 && started.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  }

  jest.setTimeout(30_000);

  it.each([
    ['plain jobs added at once', undefined],
    ['prioritized jobs added at once', 1],
  ])('%s keep both idle workers busy: the second is woken while the first still holds its job', async (_label, priority) => {
    const queueName = `wake-${priority ?? 'plain'}`;
    const queue = new Queue(queueName, { connection: connection(), prefix });
    const { takenBy, releases, started, workers } = await twoIdleWorkers(queueName);
    // Three adds in one MULTI (as ingest adds a signal with its lane) leave one marker: one worker
    // wakes; the other is woken only by the marker the first fetch leaves because more jobs wait.
    const multi = ((await queue.getBackend().client) as unknown as IORedis).multi();
    for (const id of ['j1', 'j2', 'j3']) {
      void new Job(queue, 'job', {}, { jobId: id, ...(priority ? { priority } : {}) }, id).addJob(multi as never).catch(() => undefined);
    }
    await multi.exec();
    await untilStarted(started, 2);
    expect(started).toHaveLength(2);
    expect(new Set(takenBy.values())).toEqual(new Set(['a', 'b']));
    // And the last one is taken when a worker frees up.
    releases.shift()!();
    await untilStarted(started, 3);
    expect(started).toHaveLength(3);
    for (const release of releases.splice(0)) release();
    await Promise.all(workers.map((w) => w.close(true)));
    await queue.close();
  });

  it('a job added after every worker went idle is taken at once (its own marker wakes a worker)', async () => {
    const queue = new Queue('wake-late', { connection: connection(), prefix });
    const { started, releases, workers } = await twoIdleWorkers('wake-late');
    await queue.add('job', {}, { jobId: 'first' });
    await untilStarted(started, 1);
    releases.shift()!();
    // The first worker took the only job and left no marker behind; both are idle again.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await queue.add('job', {}, { jobId: 'second' });
    await untilStarted(started, 2);
    expect(started).toEqual(['first', 'second']);
    for (const release of releases.splice(0)) release();
    await Promise.all(workers.map((w) => w.close(true)));
    await queue.close();
  });
});

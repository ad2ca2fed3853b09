import { Queue, Worker, type Job } from 'bullmq';
import { redisConnectionsFor, uniquePrefix, waitFor } from '../../../test/support/helpers';

/**
 * tsp patches BullMQ (patches/bullmq@6.7.0.patch): a fetch that takes a job also says whether
 * another job waits, and when the next delayed job is due. A worker allowed several jobs at once
 * that took the only one goes straight back to waiting for a marker, instead of asking Redis once
 * more for nothing (a round trip per job and queue when signals come one at a time). These tests
 * hold what the saving must not cost: no job is left waiting, and delayed jobs (retries) still
 * start when due, not at the end of the worker's long block.
 */
describe('BullMQ worker after a fetch that emptied the queue, as tsp patches it', () => {
  const prefix = uniquePrefix('bullmq-drained');
  const connection = redisConnectionsFor(prefix);
  jest.setTimeout(30_000);

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** A worker of concurrency 5 with a 30 s block: only a marker or a due delayed job wakes it early. */
  async function idleWorker(queueName: string, run: (job: Job) => Promise<void> = async () => undefined) {
    const startedAt = new Map<string, number>();
    const worker = new Worker(queueName, async (job: Job) => {
      startedAt.set(job.id!, Date.now());
      await run(job);
    }, { connection: connection(), prefix, concurrency: 5, drainDelay: 30 });
    await worker.waitUntilReady();
    await sleep(300);
    return { worker, startedAt };
  }

  /** Counts the fetch scripts (BullMQ's moveToActive: 11 keys, the first the queue's wait list) Redis runs for a queue. */
  async function countFetches(queueName: string) {
    const monitor = connection();
    const waitKey = `${prefix}:${queueName}:wait`;
    let fetches = 0;
    const watch = await monitor.monitor();
    watch.on('monitor', (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === 'evalsha' && args[2] === '11' && args[3] === waitKey) fetches++;
    });
    return { fetches: () => fetches, stop: () => watch.disconnect() };
  }

  it('jobs that come one at a time cost one fetch each, and each is taken at once', async () => {
    const queue = new Queue('one-by-one', { connection: connection(), prefix });
    const { worker, startedAt } = await idleWorker('one-by-one');
    const counter = await countFetches('one-by-one');
    let drainedEvents = 0;
    worker.on('drained', () => drainedEvents++);
    try {
      for (let i = 0; i < 5; i++) {
        const added = Date.now();
        await queue.add('job', {}, { jobId: `j${i}` });
        await waitFor(() => startedAt.has(`j${i}`), 10_000, `job j${i} to start`);
        // Well inside the worker's 30 s block: its marker woke it, nothing was left waiting.
        expect(startedAt.get(`j${i}`)! - added).toBeLessThan(2_000);
        await sleep(100);
      }
      // Unpatched, each job costs two: the fetch that takes it and one more that finds nothing.
      expect(counter.fetches()).toBe(5);
      // The worker still says when the queue ran dry, as it did after the empty fetch.
      expect(drainedEvents).toBeGreaterThanOrEqual(5);
    } finally {
      counter.stop();
      await worker.close(true);
      await queue.close();
    }
  });

  it('a delayed job starts when due even after a fetch that took another job emptied the queue', async () => {
    const queue = new Queue('delayed', { connection: connection(), prefix });
    const { worker, startedAt } = await idleWorker('delayed');
    try {
      const added = Date.now();
      await queue.add('later', {}, { jobId: 'later', delay: 1_500 });
      // The worker has seen the delayed job's marker and waits for its time; a plain job then wakes
      // it, and the fetch that takes that job is the one that must tell when the delayed one is due.
      await sleep(300);
      await queue.add('now', {}, { jobId: 'now' });
      await waitFor(() => startedAt.has('later'), 10_000, 'the delayed job to start');
      expect(startedAt.has('now')).toBe(true);
      expect(startedAt.get('later')! - added).toBeGreaterThanOrEqual(1_500);
      // Not the 30 s the worker blocks when it does not know of a delayed job.
      expect(startedAt.get('later')! - added).toBeLessThan(5_000);
    } finally {
      await worker.close(true);
      await queue.close();
    }
  });

  it('a retry with backoff comes back when due while other jobs come and go', async () => {
    const queue = new Queue('retry', { connection: connection(), prefix });
    const runs: number[] = [];
    const { worker, startedAt } = await idleWorker('retry', async (job) => {
      if (job.id !== 'flaky') return;
      runs.push(Date.now());
      if (job.attemptsMade < 2) throw new Error('not yet');
    });
    try {
      await queue.add('flaky', {}, { jobId: 'flaky', attempts: 3, backoff: { type: 'fixed', delay: 700 } });
      for (let i = 0; i < 8; i++) {
        await sleep(150);
        await queue.add('other', {}, { jobId: `other${i}` });
      }
      await waitFor(() => runs.length === 3 && startedAt.has('other7'), 10_000, 'three runs of the retried job and every other job');
      expect(runs).toHaveLength(3);
      for (let i = 1; i < runs.length; i++) {
        expect(runs[i] - runs[i - 1]).toBeGreaterThanOrEqual(700);
        expect(runs[i] - runs[i - 1]).toBeLessThan(5_000);
      }
    } finally {
      await worker.close(true);
      await queue.close();
    }
  });

  it('a burst of jobs added at once is taken by every free slot, none left behind', async () => {
    const queue = new Queue('burst', { connection: connection(), prefix });
    const release: (() => void)[] = [];
    const { worker, startedAt } = await idleWorker('burst', (job) => (job.id!.startsWith('b') ? new Promise<void>((resolve) => release.push(resolve)) : Promise.resolve()));
    try {
      await queue.addBulk(Array.from({ length: 12 }, (_, i) => ({ name: 'job', data: {}, opts: { jobId: `b${i}` } })));
      // Five slots: five held at once, the rest taken as slots free up.
      await waitFor(() => startedAt.size === 5, 10_000, 'five jobs to start');
      await sleep(200);
      expect(startedAt.size).toBe(5);
      for (let i = 0; i < 200 && startedAt.size < 12; i++) {
        for (const done of release.splice(0)) done();
        await sleep(25);
      }
      for (const done of release.splice(0)) done();
      expect(startedAt.size).toBe(12);
    } finally {
      await worker.close(true);
      await queue.close();
    }
  });
});

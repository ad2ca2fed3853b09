import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { createLogger, loadConfig, QUEUE } from '@tsp/core';
import { createPrisma } from '@tsp/db';
import { startForwarder } from '../src/service';
import { startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../../../test/support/helpers';
import { seedApproved, uniqueTicker } from './seed-approved';

describe('a forwarder told to stop while deliveries wait for the rate limit', () => {
  const prefix = uniquePrefix('shutdown');
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const redis = new IORedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const forward = new Queue(QUEUE.forward, { connection: redis, prefix });
  const tickers: string[] = [];
  let destination: LocalServer;

  beforeAll(async () => {
    destination = await startLocalServer();
  });
  afterAll(async () => {
    await prisma.position.deleteMany({ where: { ticker: { in: tickers } } });
    await forward.obliterate({ force: true });
    await forward.close();
    await prisma.$disconnect();
    redis.disconnect();
    await destination.close();
  });

  const configWithCap = (cap: number) => loadConfig({
    ...process.env, KEY_PREFIX: prefix, FORWARDER_PORT: '0', DEST_WEBHOOK_URL: `${destination.url}/hook`, DEST_WEBHOOK_MAX_REQ_PER_MIN: String(cap),
  });

  it('hands the waiting jobs back at once, without spending an attempt, and a restarted forwarder delivers them', async () => {
    const slow = await startForwarder(configWithCap(12), createLogger('forwarder', 'error')); // a slot every ≈ 5 s
    const signals = [];
    for (let i = 0; i < 3; i++) {
      const ticker = uniqueTicker('S');
      tickers.push(ticker);
      signals.push(await seedApproved(prisma, forward, { ticker }));
    }
    await waitFor(() => destination.received.length === 1, 10_000, 'the first delivery');
    await waitFor(async () => (await forward.getJobCounts('active')).active === 2, 5000, 'two deliveries waiting for a slot');

    const stopping = Date.now();
    await slow.stop();
    // Without the hand-back, stop() would wait for both slots (≈ 10 s), past what SIGTERM allows.
    expect(Date.now() - stopping).toBeLessThan(8000);
    const waiting = signals.filter((s) => s.id !== destination.received[0].headers['idempotency-key']);
    for (const signal of waiting) {
      const job = await forward.getJob(signal.id);
      expect(['waiting', 'prioritized', 'delayed']).toContain(await job!.getState());
      expect(job!.attemptsMade).toBe(0);
    }

    // The slots the first forwarder had reserved still count: the cap is never exceeded, even across a restart.
    const again = await startForwarder(configWithCap(12), createLogger('forwarder', 'error'));
    try {
      await waitFor(() => destination.received.length === 3, 40_000, 'the handed-back deliveries');
      expect(new Set(destination.received.map((r) => r.headers['idempotency-key']))).toEqual(new Set(signals.map((s) => s.id)));
    } finally {
      await again.stop();
    }
  }, 60_000);
});

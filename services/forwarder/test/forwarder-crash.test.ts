/**
 * A forwarder process killed with SIGKILL while a delivery is in flight loses nothing: after a
 * restart the delivery is completed, with the same Idempotency-Key.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { QUEUE } from '@tsp/core';
import { createPrisma } from '@tsp/db';
import { startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../../../test/support/helpers';
import { seedApproved, uniqueTicker } from './seed-approved';

const MAIN = path.join(__dirname, '../dist/main.js');

describe('a forwarder killed mid-delivery', () => {
  const prefix = uniquePrefix('crash');
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const redis = new IORedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const forward = new Queue(QUEUE.forward, { connection: redis, prefix });
  let destination: LocalServer;
  const children: ChildProcess[] = [];
  const ticker = uniqueTicker('KILL');

  function startForwarderProcess(): ChildProcess {
    const child = spawn(process.execPath, [MAIN], {
      env: {
        ...process.env, KEY_PREFIX: prefix, FORWARDER_PORT: '0', DEST_WEBHOOK_URL: `${destination.url}/hook`,
        DEST_WEBHOOK_MAX_REQ_PER_MIN: '6000', JOB_LOCK_MS: '1000', LOG_LEVEL: 'error',
      },
      stdio: 'ignore',
    });
    children.push(child);
    return child;
  }

  beforeAll(async () => {
    // The first request never gets an answer while its forwarder lives; later ones get 200.
    destination = await startLocalServer((_req, index) => (index === 0 ? { status: 200, delayMs: 60_000 } : { status: 200, body: '{"ok":true}' }));
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await prisma.position.deleteMany({ where: { ticker } });
    await forward.obliterate({ force: true });
    await forward.close();
    await prisma.$disconnect();
    redis.disconnect();
    await destination.close();
  });

  it('delivers the job after a restart, with the same Idempotency-Key', async () => {
    const first = startForwarderProcess();
    const signal = await seedApproved(prisma, forward, { ticker });
    await waitFor(() => destination.received.length >= 1, 15_000, 'the first (hanging) request');
    const exited = new Promise((resolve) => first.once('exit', resolve));
    first.kill('SIGKILL');
    await exited;
    expect(await (await forward.getJob(signal.id))?.getState()).toBe('active');

    startForwarderProcess();
    const row = await waitFor(async () => {
      const found = await prisma.signal.findUnique({ where: { id: signal.id }, include: { deliveries: true } });
      return found?.status === 'forwarded' ? found : null;
    }, 20_000, 'delivery after the restart');
    expect(destination.received.map((r) => r.headers['idempotency-key'])).toEqual([signal.id, signal.id]);
    expect(row.deliveries).toEqual([expect.objectContaining({ attempt: 1, httpStatus: 200 })]);
    // The audit row is written just before BullMQ marks the job done.
    await waitFor(async () => (await (await forward.getJob(signal.id))?.getState()) === 'completed', 5000, 'the job to complete');
  });
});

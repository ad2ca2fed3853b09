import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { createLogger, loadConfig, QUEUE } from '@tsp/core';
import { AdminActionLog, createPrisma } from '@tsp/db';
import { startForwarder } from '../src/service';
import { allRefused, guardedOperations, refusals, answerOf, type SweptOperation } from '../../../test/support/admin-auth-sweep';
import { deletePrefixKeys, jsonOf, startLocalServer, uniquePrefix, type LocalServer } from '../../../test/support/helpers';
import { rowWithStatus, seedApproved, uniqueTicker } from './seed-approved';

const ADMIN = 'forwarder-auth-admin';

describe("the forwarder's admin routes, every one of them", () => {
  const prefix = uniquePrefix('forwarder-auth');
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const redis = new IORedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const forward = new Queue(QUEUE.forward, { connection: redis, prefix });
  const adminActions = new AdminActionLog(prisma, prefix);
  const ticker = uniqueTicker('AUTH');
  let destination: LocalServer;
  let forwarder: Awaited<ReturnType<typeof startForwarder>>;
  let base: string;
  let routes: SweptOperation[];

  beforeAll(async () => {
    // Refuses the first delivery (a dead letter the replay routes could act on), accepts the rest.
    destination = await startLocalServer((_req, index) => (index === 0 ? { status: 422, body: '{}' } : { status: 200, body: '{}' }));
    const config = loadConfig({
      ...process.env, KEY_PREFIX: prefix, FORWARDER_PORT: '0', ADMIN_TOKEN: ADMIN,
      DEST_WEBHOOK_URL: `${destination.url}/hook`, DEST_ALLOWED_HOSTS: new URL(destination.url).host, DEST_WEBHOOK_RATE_LIMITING_ENABLED: 'false',
    });
    forwarder = await startForwarder(config, createLogger('forwarder', 'error'));
    base = `http://127.0.0.1:${forwarder.port}`;
    const dead = await seedApproved(prisma, forward, { ticker });
    await rowWithStatus(prisma, dead.id, 'dead');
    const document = await jsonOf<Parameters<typeof guardedOperations>[0]>(fetch(`${base}/openapi.json`));
    // Requests that would each change something, were they let through.
    routes = guardedOperations(document, { id: dead.id }, {
      'POST /admin/rate-limit': { enabled: false, max_per_minute: 1 },
      'POST /admin/destination': { url: `${destination.url}/elsewhere`, timeout_ms: 1234 },
      'POST /admin/dead/{id}/replay': { force: true },
    });
  });

  afterAll(async () => {
    await forwarder.stop();
    await prisma.position.deleteMany({ where: { ticker } });
    await prisma.destinationSetting.deleteMany({ where: { deployment: prefix } });
    await prisma.adminAction.deleteMany({ where: { deployment: prefix } });
    await forward.obliterate({ force: true });
    await forward.close();
    await deletePrefixKeys(prefix);
    await prisma.$disconnect();
    redis.disconnect();
    await destination.close();
  });

  /** What an admin sees through every guarded GET, the admin-action log, and what the destination received. */
  const observe = async () => ({
    reads: await Promise.all(routes.filter((r) => r.method === 'get').map(async (r) => [r.operation, await jsonOf(fetch(`${base}${r.path}`, { headers: { authorization: `Bearer ${ADMIN}` } }))])),
    paused: await forward.isPaused(),
    logged: (await adminActions.list({}, { limit: 100 })).rows.length,
    delivered: destination.received.length,
  });

  it('refuses each, without credentials or with wrong ones, with 401, and does nothing', async () => {
    // The sweep covers the routes that change delivery, not only those someone thought of.
    expect(routes.map((r) => r.operation)).toEqual(expect.arrayContaining(['POST /admin/pause', 'POST /admin/rate-limit', 'POST /admin/destination', 'DELETE /admin/destination', 'POST /admin/dead/replay-all', 'POST /admin/dead/{id}/replay']));
    const before = await observe();
    expect(before.reads).not.toEqual([]);
    expect(await refusals(base, routes, ADMIN)).toEqual(allRefused(routes, ADMIN));
    expect(await observe()).toEqual(before);
    // And the document tells a client so.
    for (const route of routes) expect([route.operation, route.schemes]).toEqual([route.operation, ['adminToken']]);
  });

  it('lets the same requests through with the token (the sweep sends real ones), and each that changes state is logged', async () => {
    const before = (await adminActions.list({}, { limit: 100 })).rows.length;
    // (The replay of one signal comes after replay-all has replayed it: a 409, past the guard all the same.)
    for (const route of routes) {
      const { status } = await answerOf(base, route, `Bearer ${ADMIN}`);
      expect([route.operation, status === 401 || status >= 500]).toEqual([route.operation, false]);
    }
    const changing = routes.filter((r) => r.method !== 'get').length;
    expect((await adminActions.list({}, { limit: 100 })).rows.length).toBe(before + changing);
  });
});

import IORedis from 'ioredis';
import { createLogger, loadConfig, readTopnSet } from '@tsp/core';
import { createPrisma } from '@tsp/db';
import { startScreener, type RunningScreener } from '../src/service';
import { allRefused, guardedOperations, refusals, answerOf, type SweptOperation } from '../../../test/support/admin-auth-sweep';
import { deletePrefixKeys, jsonOf, startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../../../test/support/helpers';
import { fixturePage } from './fixtures';

const ADMIN = 'screener-auth-admin';

describe("the screener's admin routes, every one of them", () => {
  const prefix = uniquePrefix('screener-auth');
  const redis = new IORedis(process.env.REDIS_URL!);
  const prisma = createPrisma(process.env.DATABASE_URL!);
  let finviz: LocalServer;
  let screener: RunningScreener;
  let base: string;
  let routes: SweptOperation[];

  beforeAll(async () => {
    const page = fixturePage('finviz-screener-v111-2026.html');
    finviz = await startLocalServer(() => ({ status: 200, body: page, headers: { 'content-type': 'text/html; charset=utf-8' } }));
    const config = loadConfig({
      ...process.env, KEY_PREFIX: prefix, SCREENER_PORT: '0', ADMIN_TOKEN: ADMIN, TOP_N: '5',
      // Long enough that only the first pass and the test's refreshes fetch.
      FINVIZ_URL: `${finviz.url}/screener?v=111&f=ta_gap_u5&o=-change`, FINVIZ_REFRESH_SEC: '3600',
    });
    screener = await startScreener(config, createLogger('screener', 'error'));
    base = `http://127.0.0.1:${screener.port}`;
    await waitFor(() => readTopnSet(redis, prefix), 15_000, 'the first Top-N set');
    routes = guardedOperations(await jsonOf(fetch(`${base}/openapi.json`)), {});
  });

  afterAll(async () => {
    await screener.stop();
    await finviz.close();
    await deletePrefixKeys(prefix);
    await prisma.topnSnapshot.deleteMany({ where: { source: new URL(finviz.url).host } });
    await prisma.$disconnect();
    redis.disconnect();
  });

  /** The replica's state as an admin reads it, and how often Finviz was asked. */
  const observe = async () => ({
    state: await jsonOf(fetch(`${base}/admin/state`, { headers: { authorization: `Bearer ${ADMIN}` } })),
    fetches: finviz.received.length,
  });

  it('refuses each, without credentials or with wrong ones, with 401, and does nothing', async () => {
    expect(routes.map((r) => r.operation)).toEqual(expect.arrayContaining(['POST /admin/refresh', 'GET /admin/state']));
    const before = await observe();
    expect(await refusals(base, routes, ADMIN)).toEqual(allRefused(routes, ADMIN));
    expect(await observe()).toEqual(before);
    for (const route of routes) expect([route.operation, route.schemes]).toEqual([route.operation, ['adminToken']]);
  });

  it('lets the same requests through with the token: a refresh asks Finviz again', async () => {
    const before = finviz.received.length;
    for (const route of routes) expect([route.operation, (await answerOf(base, route, `Bearer ${ADMIN}`)).status]).toEqual([route.operation, 200]);
    expect(finviz.received.length).toBeGreaterThan(before);
  });
});

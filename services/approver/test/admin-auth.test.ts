import { randomUUID } from 'node:crypto';
import IORedis from 'ioredis';
import { createLogger, loadConfig, redisKeys, type TopnSet } from '@tsp/core';
import { startApprover } from '../src/service';
import { allRefused, answerOf, guardedOperations, refusals, type SweptOperation } from '../../../test/support/admin-auth-sweep';
import { deletePrefixKeys, jsonOf, uniquePrefix } from '../../../test/support/helpers';

const ADMIN = 'approver-auth-admin';

describe("the approver's admin routes, every one of them", () => {
  const prefix = uniquePrefix('approver-auth');
  const redis = new IORedis(process.env.REDIS_URL!);
  let approver: Awaited<ReturnType<typeof startApprover>>;
  let base: string;
  let routes: SweptOperation[];

  beforeAll(async () => {
    approver = await startApprover(loadConfig({ ...process.env, KEY_PREFIX: prefix, APPROVER_PORT: '0', ADMIN_TOKEN: ADMIN }), createLogger('approver', 'error'));
    base = `http://127.0.0.1:${approver.port}`;
    routes = guardedOperations(await jsonOf(fetch(`${base}/openapi.json`)), {});
  });

  afterAll(async () => {
    await approver.stop();
    await deletePrefixKeys(prefix);
    redis.disconnect();
  });

  // What a refused reload does not do cannot be watched from outside: the approver reads the set on
  // its own every 5 s. The refusal's answer is the guard's ("unauthorized"), not the reload's.
  it('refuses each, without credentials or with wrong ones, with 401', async () => {
    expect(routes.map((r) => r.operation)).toEqual(expect.arrayContaining(['POST /admin/topn/reload']));
    expect(await refusals(base, routes, ADMIN)).toEqual(allRefused(routes, ADMIN));
    for (const route of routes) expect([route.operation, route.schemes]).toEqual([route.operation, ['adminToken']]);
  });

  it('lets the same requests through with the token: a reload reads a set published without an announcement', async () => {
    const set: TopnSet = { tickers: ['AAPL'], top_n: 1, fetched_at: new Date().toISOString(), snapshot_id: randomUUID(), source: 'test' };
    await redis.set(redisKeys(prefix).topn, JSON.stringify(set));
    for (const route of routes) expect([route.operation, (await answerOf(base, route, `Bearer ${ADMIN}`)).status]).toEqual([route.operation, 200]);
    expect((await jsonOf<{ topn: { snapshot_id: string } }>(fetch(`${base}/status`))).topn.snapshot_id).toBe(set.snapshot_id);
  });
});

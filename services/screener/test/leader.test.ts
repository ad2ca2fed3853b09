/**
 * Two or more screener replicas: one leader scrapes, the others wait; when the leader stops or
 * dies, another takes over within two refresh periods.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import IORedis from 'ioredis';
import { createLogger, loadConfig, readTopnSet, redisKeys } from '@tsp/core';
import { startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../../../test/support/helpers';
import { startScreener, type RunningScreener } from '../src/service';
import { fixturePage } from './fixtures';

const MAIN = path.join(__dirname, '../dist/main.js');
const ADMIN_TOKEN = 'leader-admin';
const REFRESH_SEC = 1;
const HTML = { 'content-type': 'text/html; charset=utf-8' };

describe('screener replicas', () => {
  const redis = new IORedis(process.env.REDIS_URL!);
  let finviz: LocalServer;
  const replicas: RunningScreener[] = [];
  const children: ChildProcess[] = [];
  const prefixes: string[] = [];

  beforeAll(async () => {
    finviz = await startLocalServer(() => ({ status: 200, body: fixturePage('finviz-screener-v111-2026.html'), headers: HTML }));
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    for (const replica of replicas) await replica.stop();
    await finviz.close();
    for (const prefix of prefixes) {
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length) await redis.del(...keys);
    }
    redis.disconnect();
  });

  function env(prefix: string): Record<string, string> {
    return {
      KEY_PREFIX: prefix, SCREENER_PORT: '0', ADMIN_TOKEN, TOP_N: '5', FINVIZ_REFRESH_SEC: String(REFRESH_SEC), FINVIZ_PAGE_DELAY_MS: '0',
      FINVIZ_URL: `${finviz.url}/screener?v=111&f=ta_gap_u5&o=-change&replicas=${prefix}`,
    };
  }

  async function startReplica(prefix: string): Promise<RunningScreener> {
    const replica = await startScreener(loadConfig({ ...process.env, ...env(prefix) }), createLogger('screener', process.env.LOG_LEVEL));
    replicas.push(replica);
    return replica;
  }

  async function state(replica: RunningScreener): Promise<{ leader: boolean; replica: string; last_fetch_outcome: string | null }> {
    const response = await fetch(`http://127.0.0.1:${replica.port}/admin/state`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    return response.json() as never;
  }

  /** Requests this deployment's replicas made to the stand-in since index `from`. */
  const requestsOf = (prefix: string, from = 0) => finviz.received.slice(from).filter((request) => request.url.includes(`replicas=${prefix}`));

  it('elect one leader, which alone scrapes; when it stops, another takes over within 2 refresh periods', async () => {
    const prefix = uniquePrefix('replicas');
    prefixes.push(prefix);
    const a = await startReplica(prefix);
    const b = await startReplica(prefix);
    const c = await startReplica(prefix);
    await waitFor(() => readTopnSet(redis, prefix), 10_000, 'the first set');

    const mark = finviz.received.length;
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const states = await Promise.all([a, b, c].map(state));
    expect(states.filter((s) => s.leader)).toHaveLength(1);
    expect(states.filter((s) => !s.leader).map((s) => s.last_fetch_outcome)).toEqual([null, null]);
    // One scraper at one refresh period: about 3 requests in 3 s, not 9.
    expect(requestsOf(prefix, mark).length).toBeGreaterThanOrEqual(2);
    expect(requestsOf(prefix, mark).length).toBeLessThanOrEqual(4);
    expect(await redis.get(redisKeys(prefix).screenerLeader)).toBe(states.find((s) => s.leader)!.replica);

    const leader = [a, b, c][states.findIndex((s) => s.leader)];
    const others = [a, b, c].filter((replica) => replica !== leader);
    const stoppedAt = Date.now();
    await leader.stop();
    const next = await waitFor(async () => {
      const after = await Promise.all(others.map(state));
      return after.filter((s) => s.leader).length === 1 ? after.find((s) => s.leader) : null;
    }, 2 * REFRESH_SEC * 1000, 'a new leader');
    expect(Date.now() - stoppedAt).toBeLessThanOrEqual(2 * REFRESH_SEC * 1000);
    const before = (await readTopnSet(redis, prefix))!;
    await waitFor(async () => Date.parse((await readTopnSet(redis, prefix))!.fetched_at) > Date.parse(before.fetched_at), 3000, 'a fetch by the new leader');
    expect(await redis.get(redisKeys(prefix).screenerLeader)).toBe(next.replica);
  });

  it('take over from a leader killed with SIGKILL within 2 refresh periods', async () => {
    const prefix = uniquePrefix('killed');
    prefixes.push(prefix);
    const child = spawn(process.execPath, [MAIN], { env: { ...process.env, ...env(prefix), LOG_LEVEL: 'error' }, stdio: 'ignore' });
    children.push(child);
    await waitFor(() => redis.get(redisKeys(prefix).screenerLeader), 10_000, 'the child process to lead');
    const survivor = await startReplica(prefix);
    await waitFor(() => requestsOf(prefix).length >= 2, 5000, 'the child to scrape');
    expect((await state(survivor)).leader).toBe(false);
    expect((await state(survivor)).last_fetch_outcome).toBeNull();

    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();
    const mark = finviz.received.length;
    await waitFor(async () => (await state(survivor)).leader, 2 * REFRESH_SEC * 1000 + 500, 'the survivor to lead');
    expect(Date.now() - killedAt).toBeLessThanOrEqual(2 * REFRESH_SEC * 1000);
    await waitFor(() => requestsOf(prefix, mark).length >= 1, 3000, 'the survivor to scrape');
    // The request reaching Finviz is not the end of the pass: wait for its outcome, then check it.
    await waitFor(async () => (await state(survivor)).last_fetch_outcome !== null, 5000, "the survivor's pass to finish");
    expect((await state(survivor)).last_fetch_outcome).toBe('ok');
  });
});

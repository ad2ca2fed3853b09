import IORedis from 'ioredis';
import { createLogger, loadConfig, readTopnSet, redisKeys, type TopnSet } from '@tsp/core';
import { createPrisma } from '@tsp/db';
import { startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../../../test/support/helpers';
import { startScreener, type RunningScreener } from '../src/service';
import { fixturePage, fixtureTickers, TOO_MANY_REQUESTS_PAGE } from './fixtures';

const ADMIN_TOKEN = 'test-admin-token';
const TOP_N = 5;
const PAGE_2026 = 'finviz-screener-v111-2026.html';
const PAGE_2023 = 'finviz-screener-v111-2023.html';
const tickersOf = fixtureTickers();

const redis = new IORedis(process.env.REDIS_URL!);
const prisma = createPrisma(process.env.DATABASE_URL!);
const logger = createLogger('screener', process.env.LOG_LEVEL);

/** A Finviz stand-in whose answer the test switches, and the screener scraping it. */
interface Stack {
  prefix: string;
  finviz: LocalServer;
  serve: (body: string) => void;
  start: (env?: Record<string, string>) => Promise<RunningScreener>;
  screener: () => RunningScreener;
  topn: () => Promise<TopnSet | null>;
  refresh: () => Promise<Record<string, unknown>>;
  get: (path: string) => Promise<Response>;
}

const stacks: { prefix: string; finviz: LocalServer; running: RunningScreener[] }[] = [];

async function stack(label: string, env: Record<string, string> = {}): Promise<Stack> {
  const prefix = uniquePrefix(label);
  let body = fixturePage(PAGE_2026);
  const finviz = await startLocalServer(() => ({ status: 200, body, headers: { 'content-type': 'text/html; charset=utf-8' } }));
  const entry = { prefix, finviz, running: [] as RunningScreener[] };
  stacks.push(entry);
  let current: RunningScreener | null = null;

  const start = async (overrides: Record<string, string> = {}) => {
    const config = loadConfig({
      ...process.env,
      KEY_PREFIX: prefix,
      FINVIZ_URL: `${finviz.url}/screener?v=111&f=ta_gap_u5&o=-change`,
      TOP_N: String(TOP_N),
      // Long enough that only the first pass and the test's explicit refreshes fetch.
      FINVIZ_REFRESH_SEC: '3600',
      SCREENER_PORT: '0',
      ADMIN_TOKEN,
      ...env,
      ...overrides,
    });
    current = await startScreener(config, logger);
    entry.running.push(current);
    return current;
  };
  const screener = () => current!;
  const get = (path: string) => fetch(`http://127.0.0.1:${screener().port}${path}`);
  return {
    prefix,
    finviz,
    serve: (next) => {
      body = next;
    },
    start,
    screener,
    topn: () => readTopnSet(redis, prefix),
    refresh: async () => {
      const response = await fetch(`http://127.0.0.1:${screener().port}/admin/refresh`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      expect(response.status).toBe(200);
      return (await response.json()) as Record<string, unknown>;
    },
    get,
  };
}

afterAll(async () => {
  for (const { prefix, finviz, running } of stacks) {
    for (const service of running) await service.stop().catch(() => undefined);
    await finviz.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  }
  // Each stand-in listens on a port of its own, so its host names exactly this run's snapshots.
  const sources = stacks.map(({ finviz }) => new URL(finviz.url).host);
  await prisma.topnSnapshot.deleteMany({ where: { source: { in: sources } } });
  await prisma.$disconnect();
  redis.disconnect();
});

describe('screener', () => {
  it('publishes the first TOP_N tickers of the page in rank order and records the snapshot', async () => {
    const s = await stack('publish');
    await s.start();
    const set = await waitFor(() => s.topn(), 15_000, 'the first Top-N set');

    expect(set.tickers).toEqual(tickersOf[PAGE_2026].slice(0, TOP_N));
    expect(set.top_n).toBe(TOP_N);
    expect(set.source).toBe(new URL(s.finviz.url).host);
    const row = await waitFor(() => prisma.topnSnapshot.findUnique({ where: { id: set.snapshot_id } }), 5000, 'the snapshot row');
    expect(row).toMatchObject({ tickers: set.tickers, topN: TOP_N, source: set.source });
    expect(s.finviz.received[0].headers['user-agent']).toMatch(/Mozilla/);
  });

  it('keeps the last set when Finviz answers a "Too Many Requests" page with HTTP 200', async () => {
    const s = await stack('too-many');
    await s.start();
    const first = await waitFor(() => s.topn(), 15_000, 'the first Top-N set');
    s.serve(TOO_MANY_REQUESTS_PAGE);

    // The first refresh may wait for a pass already under way; the second surely fetched the new page.
    await s.refresh();
    const kept = await s.topn();
    const report = await s.refresh();
    expect(report).toMatchObject({ outcome: 'rate_limited', published: false });
    const after = await s.topn();

    expect(kept!.snapshot_id).toBe(first.snapshot_id);
    // Same snapshot, and fetched_at not advanced: the set ages towards topn_stale.
    expect(after).toEqual(kept);
    expect(after!.tickers).toEqual(tickersOf[PAGE_2026].slice(0, TOP_N));
    const status = (await (await s.get('/status')).json()) as { fetch: { last: { outcome: string } }; topn: { snapshot_id: string } };
    expect(status.fetch.last.outcome).toBe('rate_limited');
    expect(status.topn.snapshot_id).toBe(kept!.snapshot_id);
    const metrics = await (await s.get('/metrics')).text();
    expect(metrics).toMatch(/tsp_screener_fetches_total\{outcome="rate_limited"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/tsp_topn_age_seconds\{[^}]*\} \d/);
  });

  it('keeps the snapshot id of an unchanged set but refreshes and announces it', async () => {
    const s = await stack('unchanged');
    await s.start();
    const first = await waitFor(() => s.topn(), 15_000, 'the first Top-N set');
    const subscriber = new IORedis(process.env.REDIS_URL!);
    const announced: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => announced.push(message));
    await subscriber.subscribe(redisKeys(s.prefix).topnUpdated);
    try {
      const report = await s.refresh();
      expect(report).toMatchObject({ outcome: 'ok', published: true, changed: false, snapshot_id: first.snapshot_id });
      const second = await s.topn();
      expect(second!.snapshot_id).toBe(first.snapshot_id);
      expect(Date.parse(second!.fetched_at)).toBeGreaterThanOrEqual(Date.parse(first.fetched_at));
      await waitFor(() => announced.includes(first.snapshot_id), 5000, 'the announcement');
    } finally {
      subscriber.disconnect();
    }
    expect(await prisma.topnSnapshot.count({ where: { id: first.snapshot_id } })).toBe(1);
  });

  it('gives a changed set a new snapshot id and records it', async () => {
    const s = await stack('changed');
    await s.start();
    const first = await waitFor(() => s.topn(), 15_000, 'the first Top-N set');
    s.serve(fixturePage(PAGE_2023));
    const report = await s.refresh();
    const second = (await s.topn())!;

    expect(report).toMatchObject({ outcome: 'ok', changed: true, snapshot_id: second.snapshot_id });
    expect(second.snapshot_id).not.toBe(first.snapshot_id);
    expect(second.tickers).toEqual(tickersOf[PAGE_2023].slice(0, TOP_N));
    expect(await prisma.topnSnapshot.findUnique({ where: { id: second.snapshot_id } })).toMatchObject({ tickers: second.tickers });
  });

  it('keeps the snapshot id across a restart that finds the same set', async () => {
    const s = await stack('restart');
    const before = await s.start();
    const first = await waitFor(() => s.topn(), 15_000, 'the first Top-N set');
    await before.stop();

    await s.start();
    await s.refresh();
    const after = await s.topn();
    expect(after!.snapshot_id).toBe(first.snapshot_id);
  });

  it('still publishes when Postgres is unreachable: signals must keep flowing', async () => {
    const s = await stack('no-postgres', { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/tsp_test' });
    await s.start();
    const set = await waitFor(() => s.topn(), 15_000, 'the Top-N set');
    expect(set.tickers).toEqual(tickersOf[PAGE_2026].slice(0, TOP_N));
    expect((await s.get('/ready')).status).toBe(503);
  });

  it('publishes nothing without FINVIZ_URL and says why on /ready', async () => {
    const s = await stack('no-url', { FINVIZ_URL: '' });
    await s.start();
    const report = await s.refresh();
    expect(report).toMatchObject({ outcome: 'not_configured', published: false });

    const ready = await s.get('/ready');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ failing: { config: expect.stringContaining('FINVIZ_URL') } });
    expect(await s.topn()).toBeNull();
    expect(s.finviz.received).toHaveLength(0);
  });

  it('refuses /admin/refresh without the admin token', async () => {
    const s = await stack('admin');
    await s.start();
    const response = await fetch(`http://127.0.0.1:${s.screener().port}/admin/refresh`, { method: 'POST' });
    expect(response.status).toBe(401);
  });
});

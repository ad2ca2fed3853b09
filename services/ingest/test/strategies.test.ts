/**
 * Strategies through ingest's public API: named Finviz screeners, exactly one active, which is
 * the screener config. Activating one moves the Top-N on every screener replica within 2 s and
 * survives restarts; every change is in the admin-action log. Real Redis, Postgres, two screener
 * replicas and a Finviz stand-in.
 */
import request from 'supertest';
import IORedis from 'ioredis';
import { createLogger, loadConfig, readTopnSet, type RunningService } from '@tsp/core';
import { createPrisma } from '@tsp/db';
import { startIngest } from '../src/service';
import { startScreener } from '../../screener/src/service';
import { deletePrefixKeys, jsonOf, startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../../../test/support/helpers';
import { fixturePage, fixtureTickers } from '../../screener/test/fixtures';

const ADMIN_TOKEN = 'strategies-admin-token';
const PAGE_A = 'finviz-screener-v111-2026.html';
const PAGE_B = 'finviz-screener-v111-2023.html';
const tickers = fixtureTickers();

interface Strategy { id: string; name: string; url: string; top_n: number; refresh: number; active: boolean }

describe('/strategies', () => {
  const prefix = uniquePrefix('strat');
  const redis = new IORedis(process.env.REDIS_URL!);
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const logger = createLogger('test', process.env.LOG_LEVEL);
  let finviz: LocalServer;
  let ingest: RunningService & { port: number };
  let screeners: (RunningService & { port: number })[] = [];
  let url: string;
  let screenerA: string;
  let screenerB: string;

  const config = () => loadConfig({
    ...process.env,
    KEY_PREFIX: prefix, INGEST_PORT: '0', SCREENER_PORT: '0', ADMIN_TOKEN,
    FINVIZ_URL: screenerA, TOP_N: '5', FINVIZ_REFRESH_SEC: '3600', FINVIZ_PAGE_DELAY_MS: '0',
    FINVIZ_ALLOWED_HOSTS: `finviz.com,127.0.0.1:${finviz.port}`,
  });
  async function startAll() {
    screeners = [await startScreener(config(), logger), await startScreener(config(), logger)];
    ingest = await startIngest(config(), logger);
    url = `http://127.0.0.1:${ingest.port}`;
  }
  async function stopAll() {
    await ingest.stop();
    for (const screener of screeners) await screener.stop();
  }
  const admin = (method: 'get' | 'post' | 'put' | 'delete', path: string, token = ADMIN_TOKEN) =>
    request(url)[method](path).set('Authorization', `Bearer ${token}`);
  const list = async () => (await admin('get', '/strategies')).body as { items: Strategy[]; active_id: string | null };
  const statusOf = (port: number) => jsonOf<{ top_n: number; finviz_url: string }>(fetch(`http://127.0.0.1:${port}/status`));

  beforeAll(async () => {
    finviz = await startLocalServer((req) => ({
      status: 200,
      body: fixturePage(req.url.includes('f=sh_price_u5') ? PAGE_B : PAGE_A),
      headers: { 'content-type': 'text/html' },
    }));
    screenerA = `${finviz.url}/screener?v=111&f=ta_gap_u5&o=-change`;
    screenerB = `${finviz.url}/screener?v=111&f=sh_price_u5&o=-volume`;
    await startAll();
    await waitFor(() => readTopnSet(redis, prefix), 10_000, 'the first Top-N set');
  });

  afterAll(async () => {
    await stopAll();
    await finviz.close();
    await prisma.strategy.deleteMany({ where: { deployment: prefix } });
    await prisma.adminAction.deleteMany({ where: { deployment: prefix } });
    await prisma.finvizConfigAudit.deleteMany({ where: { deployment: prefix } });
    await prisma.finvizConfig.deleteMany({ where: { deployment: prefix } });
    await prisma.topnSnapshot.deleteMany({ where: { deployment: prefix } });
    await deletePrefixKeys(prefix);
    await prisma.$disconnect();
    redis.disconnect();
  });

  it('adopts the config in force as the active strategy "default" on the first read, behind the admin token', async () => {
    expect((await request(url).get('/strategies')).status).toBe(401);
    expect((await admin('get', '/strategies', 'wrong')).status).toBe(401);
    const { items, active_id } = await list();
    expect(items).toEqual([expect.objectContaining({ name: 'default', url: screenerA, top_n: 5, refresh: 3600, active: true })]);
    expect(active_id).toBe(items[0].id);
    expect((await list()).items).toHaveLength(1);
  });

  it('refuses a bad strategy with 400 naming the field, and stores nothing', async () => {
    const good = { name: 'Gap up', url: screenerB, top_n: 3, refresh: 60 };
    const bad: Record<string, unknown>[] = [
      { ...good, name: '' }, { ...good, name: '   ' }, { ...good, name: 'x'.repeat(101) }, { ...good, name: 'tab\there' }, { ...good, name: 'nul\u0000' },
      { ...good, name: 42 }, { ...good, url: 'https://evil.example/screener?v=111' }, { ...good, url: `${screenerB}\n` },
      { ...good, url: screenerB.replace('127.0.0.1', '127.0.0.\u0661') }, { ...good, url: 'ftp://finviz.com/x' },
      { ...good, top_n: 0 }, { ...good, top_n: 1001 }, { ...good, top_n: 2.5 }, { ...good, refresh: 0 }, { ...good, extra: true },
      { name: 'only a name' },
    ];
    for (const body of bad) {
      const res = await admin('post', '/strategies').send(body);
      expect([body, res.status, res.body.error]).toEqual([body, 400, 'invalid_strategy']);
    }
    expect((await admin('post', '/strategies').set('content-type', 'application/json').send('[1]')).status).toBe(400);
    expect((await list()).items.map((s) => s.name)).toEqual(['default']);
  });

  it('creates, duplicates and renames strategies without changing the active one; names are unique', async () => {
    const created = await admin('post', '/strategies').send({ name: 'Cheap movers', url: screenerB, top_n: 3, refresh: 60 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Cheap movers', active: false, top_n: 3 });
    expect((await admin('post', '/strategies').send({ name: 'Cheap movers', url: screenerB, top_n: 3, refresh: 60 })).status).toBe(409);
    const copy = await admin('post', `/strategies/${created.body.id}/duplicate`).send({});
    expect(copy.status).toBe(201);
    expect(copy.body).toMatchObject({ name: 'Cheap movers (copy)', url: screenerB, active: false });
    expect((await admin('post', `/strategies/${created.body.id}/duplicate`).send({})).body.name).toBe('Cheap movers (copy 2)');
    const renamed = await admin('put', `/strategies/${copy.body.id}`).send({ name: 'Spare' });
    expect(renamed.body).toMatchObject({ name: 'Spare', url: screenerB });
    expect((await admin('get', `/strategies/${copy.body.id}`)).body.name).toBe('Spare');
    expect((await admin('get', '/strategies/not-a-uuid')).status).toBe(400);
    expect((await admin('get', '/strategies/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await list()).items.filter((s) => s.active).map((s) => s.name)).toEqual(['default']);
  });

  it('activates a strategy: every screener replica applies it within 2 s and the Top-N moves; audited', async () => {
    const target = (await list()).items.find((s) => s.name === 'Cheap movers')!;
    const res = await admin('post', `/strategies/${target.id}/activate`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: target.id, active: true, announced: true });
    for (const screener of screeners) {
      await waitFor(async () => (await statusOf(screener.port)).finviz_url === screenerB, 2000, `screener ${screener.port} to apply it`);
      expect(await statusOf(screener.port)).toMatchObject({ top_n: 3 });
    }
    const set = await waitFor(async () => {
      const current = await readTopnSet(redis, prefix);
      return current?.top_n === 3 ? current : null;
    }, 5000, 'the new set');
    expect(set.tickers.slice(0, 3)).toEqual(tickers[PAGE_B].slice(0, 3));
    expect((await admin('get', '/finviz/config')).body).toMatchObject({ url: screenerB, top_n: 3, refresh: 60 });
    const { items } = await list();
    expect(items.filter((s) => s.active).map((s) => s.id)).toEqual([target.id]);
    const logged = await prisma.adminAction.findFirst({ where: { deployment: prefix, action: 'strategy.activate' }, orderBy: { id: 'desc' } });
    expect(logged).toMatchObject({ outcome: 'done', tokenKind: 'admin_token', target: target.id, before: { name: 'default', active: true }, after: { name: 'Cheap movers', active: true } });
  });

  it('keeps /finviz/config and the active strategy equal whichever is changed', async () => {
    const active = (await list()).items.find((s) => s.active)!;
    await admin('put', `/strategies/${active.id}`).send({ top_n: 4 });
    expect((await admin('get', '/finviz/config')).body).toMatchObject({ top_n: 4 });
    await admin('post', '/finviz/config').send({ top_n: 2 });
    expect((await admin('get', `/strategies/${active.id}`)).body).toMatchObject({ top_n: 2, active: true });
    await waitFor(async () => (await readTopnSet(redis, prefix))?.top_n === 2, 5000, 'the set of top_n 2');
  });

  it('refuses to delete the active strategy, deletes another', async () => {
    const { items } = await list();
    const active = items.find((s) => s.active)!;
    const spare = items.find((s) => s.name === 'Spare')!;
    expect((await admin('delete', `/strategies/${active.id}`)).status).toBe(409);
    expect((await admin('delete', `/strategies/${spare.id}`)).status).toBe(200);
    expect((await admin('get', `/strategies/${spare.id}`)).status).toBe(404);
    const logged = await prisma.adminAction.findFirst({ where: { deployment: prefix, action: 'strategy.delete', outcome: 'done' } });
    expect(logged).toMatchObject({ target: spare.id, before: { name: 'Spare' } });
  });

  it('survives a restart of everything: the active strategy is still the screener config', async () => {
    const active = (await list()).items.find((s) => s.active)!;
    await stopAll();
    await startAll();
    expect((await list()).active_id).toBe(active.id);
    for (const screener of screeners) await waitFor(async () => (await statusOf(screener.port)).finviz_url === screenerB, 5000, 'the strategy after a restart');
  });
});

/**
 * The screener's runtime config through ingest's public API: validated, authorised, stored with
 * its audit trail, applied by a running screener within 2 s, and still in force after both
 * services restart. And the Top-N history it leaves behind.
 */
import request from 'supertest';
import IORedis from 'ioredis';
import { createLogger, loadConfig, readTopnSet, type RunningService } from '@tsp/core';
import { createPrisma } from '@tsp/db';
import { startIngest } from '../src/service';
import { startScreener } from '../../screener/src/service';
import { jsonOf, startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../../../test/support/helpers';
import { fixturePage, fixtureTickers } from '../../screener/test/fixtures';

const UPDATE_TOKEN = 'finviz-update-token';
const ADMIN_TOKEN = 'finviz-admin-token';
const PASSWORD = 'elite-password-not-shown';
const AUTH_TOKEN = 'elite-token-not-shown';
const PAGE_A = 'finviz-screener-v111-2026.html';
const PAGE_B = 'finviz-screener-v111-2023.html';
const tickers = fixtureTickers();

describe('GET/POST /finviz/config', () => {
  const prefix = uniquePrefix('fvcfg');
  const redis = new IORedis(process.env.REDIS_URL!);
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const logger = createLogger('test', process.env.LOG_LEVEL);
  const startedAt = new Date();
  let finviz: LocalServer;
  let ingest: RunningService & { port: number };
  let screener: RunningService & { port: number };
  let url: string;

  function config() {
    return loadConfig({
      ...process.env,
      KEY_PREFIX: prefix, INGEST_PORT: '0', SCREENER_PORT: '0', ADMIN_TOKEN, FINVIZ_UPDATE_TOKEN: UPDATE_TOKEN,
      FINVIZ_URL: `${finviz.url}/screener?v=111&f=ta_gap_u5&o=-change`, TOP_N: '5', FINVIZ_REFRESH_SEC: '3600', FINVIZ_PAGE_DELAY_MS: '0',
      // The stand-in is allowed by its exact host:port; nothing else on this machine is.
      FINVIZ_ALLOWED_HOSTS: `finviz.com,elite.finviz.com,127.0.0.1:${finviz.port}`,
      FINVIZ_EMAIL: 'trader@example.com', FINVIZ_PASSWORD: PASSWORD, FINVIZ_AUTH_TOKEN: AUTH_TOKEN,
    });
  }

  async function startBoth() {
    screener = await startScreener(config(), logger);
    ingest = await startIngest(config(), logger);
    url = `http://127.0.0.1:${ingest.port}`;
  }

  async function stopBoth() {
    await ingest.stop();
    await screener.stop();
  }

  /** The screener's GET /status, with the field these tests wait on. */
  const screenerStatus = () => jsonOf<{ refresh_sec: number } & Record<string, unknown>>(fetch(`http://127.0.0.1:${screener.port}/status`));
  const post = (body: unknown, token = UPDATE_TOKEN) => request(url).post('/finviz/config').set('Authorization', `Bearer ${token}`).send(body as object);

  beforeAll(async () => {
    finviz = await startLocalServer((req) => ({
      status: 200,
      body: fixturePage(req.url.includes('f=sh_price_u5') ? PAGE_B : PAGE_A),
      headers: { 'content-type': 'text/html' },
    }));
    await startBoth();
    await waitFor(() => readTopnSet(redis, prefix), 10_000, 'the first Top-N set');
  });

  afterAll(async () => {
    await stopBoth();
    await finviz.close();
    await prisma.finvizConfigAudit.deleteMany({ where: { deployment: prefix } });
    await prisma.finvizConfig.deleteMany({ where: { deployment: prefix } });
    await prisma.topnSnapshot.deleteMany({ where: { deployment: prefix } });
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await prisma.$disconnect();
    redis.disconnect();
  });

  it('answers the environment\'s values before any change, behind the token, never with credentials', async () => {
    expect((await request(url).get('/finviz/config')).status).toBe(401);
    expect((await request(url).get('/finviz/config').set('Authorization', 'Bearer nope')).status).toBe(401);
    const res = await request(url).get('/finviz/config').set('Authorization', `Bearer ${UPDATE_TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ url: `${finviz.url}/screener?v=111&f=ta_gap_u5&o=-change`, top_n: 5, refresh: 3600, source: 'environment', version: null });
    expect(JSON.stringify(res.body)).not.toMatch(new RegExp(`${PASSWORD}|${AUTH_TOKEN}|trader@`));
  });

  it('refuses a wrong or missing token with 401', async () => {
    expect((await post({ top_n: 3 }, 'wrong-token')).status).toBe(401);
    expect((await request(url).post('/finviz/config').send({ top_n: 3 })).status).toBe(401);
  });

  it.each([
    ['a URL on 127.0.0.1 (another port)', { url: 'http://127.0.0.1/screener.ashx?v=111' }, 'url'],
    ['a URL on 127.0.0.1 with a port not allowed', { url: 'http://127.0.0.1:6379/' }, 'url'],
    ['the cloud metadata address', { url: 'http://169.254.169.254/latest/meta-data/' }, 'url'],
    ['a host not allowed', { url: 'https://evil.example.com/screener.ashx' }, 'url'],
    ['an allowed host on another port', { url: 'https://finviz.com:8443/screener.ashx' }, 'url'],
    ['credentials in the URL', { url: 'https://user:pw@finviz.com/screener.ashx' }, 'url'],
    ['a URL that is not http(s)', { url: 'file:///etc/passwd' }, 'url'],
    ['top_n 0', { top_n: 0 }, 'top_n'],
    ['top_n 1001', { top_n: 1001 }, 'top_n'],
    ['a fractional top_n', { top_n: 2.5 }, 'top_n'],
    ['refresh under 1 s', { refresh: 0.5 }, 'refresh'],
    ['an unknown field', { topn: 20 }, ''],
    ['an empty body', {}, ''],
  ])('answers 400 for %s and stores nothing', async (_name, body, field) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_config', details: expect.any(Array) });
    if (field) expect(res.body.details.map((d: { field: string }) => d.field)).toContain(field);
    expect(await prisma.finvizConfig.findUnique({ where: { deployment: prefix } })).toBeNull();
  });

  it('stores a good update with who and when, and the screener applies it within 2 s', async () => {
    const newUrl = `${finviz.url}/screener?v=111&f=sh_price_u5&o=-volume`;
    const sentAt = Date.now();
    const res = await post({ url: newUrl, top_n: 3 });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ url: newUrl, top_n: 3, refresh: 3600, source: 'database', version: 1, updated_by: 'FINVIZ_UPDATE_TOKEN', announced: true });

    const set = await waitFor(async () => {
      const current = await readTopnSet(redis, prefix);
      return current?.top_n === 3 ? current : null;
    }, 2000, 'the screener to publish with the new config');
    expect(Date.now() - sentAt).toBeLessThan(2000);
    expect(set.tickers).toEqual(tickers[PAGE_B].slice(0, 3));
    expect(finviz.received.at(-1)!.url).toBe('/screener?v=111&f=sh_price_u5&o=-volume');
    expect(await screenerStatus()).toMatchObject({ top_n: 3, config: { source: 'database', version: 1 } });

    const audit = await prisma.finvizConfigAudit.findMany({ where: { deployment: prefix } });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'FINVIZ_UPDATE_TOKEN', ip: expect.stringMatching(/127\.0\.0\.1/), after: { url: newUrl, top_n: 3, refresh: 3600 } });
    expect(audit[0].at.getTime()).toBeGreaterThanOrEqual(sentAt - 1000);
  });

  it('accepts ADMIN_TOKEN too and applies a subset over the stored config', async () => {
    const res = await post({ refresh: 1800 }, ADMIN_TOKEN);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ top_n: 3, refresh: 1800, version: 2, updated_by: 'ADMIN_TOKEN' });
    await waitFor(async () => (await screenerStatus()).refresh_sec === 1800, 2000, 'the new refresh period');
  });

  it('keeps the config through a restart of both services', async () => {
    await stopBoth();
    await startBoth();
    const res = await request(url).get('/finviz/config').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    expect(res.body).toMatchObject({ url: `${finviz.url}/screener?v=111&f=sh_price_u5&o=-volume`, top_n: 3, refresh: 1800, source: 'database', version: 2 });
    expect(await screenerStatus()).toMatchObject({ top_n: 3, refresh_sec: 1800, finviz_url: `${finviz.url}/screener?v=111&f=sh_price_u5&o=-volume` });
    const mark = finviz.received.length;
    await fetch(`http://127.0.0.1:${screener.port}/admin/refresh`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(finviz.received.slice(mark).every((r) => r.url.includes('f=sh_price_u5'))).toBe(true);
    expect((await readTopnSet(redis, prefix))!.tickers).toEqual(tickers[PAGE_B].slice(0, 3));
  });

  it('masks an API token in the URL when showing it', async () => {
    const res = await post({ url: `${finviz.url}/screener?v=111&f=sh_price_u5&o=-volume&auth=${AUTH_TOKEN}` });
    expect(res.status).toBe(200);
    const shown = await request(url).get('/finviz/config').set('Authorization', `Bearer ${UPDATE_TOKEN}`);
    expect(shown.body.url).toContain('auth=***');
    expect(JSON.stringify([res.body, shown.body])).not.toContain(AUTH_TOKEN);
    const audit = await prisma.finvizConfigAudit.findMany({ where: { deployment: prefix } });
    expect(JSON.stringify(audit.map((a) => [a.before, a.after]))).not.toContain(AUTH_TOKEN);
  });

  it('lists the changed Top-N sets, newest first, each with its snapshot_id', async () => {
    const current = (await readTopnSet(redis, prefix))!;
    const res = await request(url).get('/finviz/topn/history').query({ from: startedAt.toISOString() });
    expect(res.status).toBe(200);
    const items = res.body.items as { snapshot_id: string; tickers: string[]; fetched_at: string; top_n: number }[];
    expect(items.map((item) => item.tickers)).toEqual([tickers[PAGE_B].slice(0, 3), tickers[PAGE_A].slice(0, 5)]);
    expect(items[0]).toMatchObject({ snapshot_id: current.snapshot_id, top_n: 3 });
    expect(Date.parse(items[0].fetched_at)).toBeGreaterThan(Date.parse(items[1].fetched_at));

    const older = await request(url).get('/finviz/topn/history').query({ from: startedAt.toISOString(), to: items[1].fetched_at });
    expect(older.body.items.map((item: { snapshot_id: string }) => item.snapshot_id)).toEqual([items[1].snapshot_id]);
    const paged = await request(url).get('/finviz/topn/history').query({ from: startedAt.toISOString(), limit: 1 });
    expect(paged.body.items).toHaveLength(1);
    const rest = await request(url).get('/finviz/topn/history').query({ from: startedAt.toISOString(), limit: 1, cursor: paged.body.next_cursor });
    expect(rest.body.items[0].snapshot_id).toBe(items[1].snapshot_id);
    expect((await request(url).get('/finviz/topn/history').query({ from: 'yesterday' })).status).toBe(400);
    expect((await request(url).get('/finviz/topn/history').query({ form: '2026-01-01T00:00:00Z' })).status).toBe(400);
  });
});

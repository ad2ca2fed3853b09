/**
 * POST /admin/screener/refresh on ingest, end to end: real Redis and Postgres, ingest, two
 * screener replicas refreshing only once an hour, and a local stand-in for Finviz that records
 * each request it gets. A refresh must come from the console's request, not from the timer.
 */
import request from 'supertest';
import IORedis from 'ioredis';
import { createLogger, loadConfig, readTopnSet, redisKeys } from '@tsp/core';
import { createPrisma } from '@tsp/db';
import { startIngest } from '../src/service';
import { startScreener, type RunningScreener } from '../../screener/src/service';
import { deletePrefixKeys, startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../../../test/support/helpers';
import { fixturePage } from '../../screener/test/fixtures';

const ADMIN_TOKEN = 'refresh-admin-token';

interface ScreenerState {
  paused: boolean;
  refresh_pending: boolean;
  last_refresh: { id: string; outcome: string; published: boolean; by: string; reason: string | null; done_at: string } | null;
}

describe('refreshing the screener from the console', () => {
  const prefix = uniquePrefix('scrrefresh');
  const redis = new IORedis(process.env.REDIS_URL!);
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const logger = createLogger('test', process.env.LOG_LEVEL);
  let finviz: LocalServer;
  let ingest: Awaited<ReturnType<typeof startIngest>>;
  const screeners: RunningScreener[] = [];
  let url: string;
  /** Requests one pass makes (pages of the saved screener page). */
  let requestsPerPass: number;

  const env = () => ({
    ...process.env, KEY_PREFIX: prefix, INGEST_PORT: '0', SCREENER_PORT: '0', ADMIN_TOKEN, TOP_N: '5',
    // An hour between ticks: any fetch after the first comes from a refresh asked for.
    FINVIZ_URL: `${finviz.url}/screener?v=111&f=ta_gap_u5&o=-change&deployment=${prefix}`, FINVIZ_REFRESH_SEC: '3600', FINVIZ_PAGE_DELAY_MS: '0',
    FINVIZ_ALLOWED_HOSTS: `finviz.com,127.0.0.1:${finviz.port}`,
  });
  const requestsSince = (at: number) => finviz.received.filter((req) => req.at >= at && req.url.includes(`deployment=${prefix}`));
  const admin = (path: string) => request(url).post(path).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
  const screenerState = async () => (await request(url).get('/status')).body.screener as ScreenerState;
  const requested = async () => redis.exists(redisKeys(prefix).screenerRefresh);

  beforeAll(async () => {
    finviz = await startLocalServer(() => ({ status: 200, body: fixturePage('finviz-screener-v111-2026.html'), headers: { 'content-type': 'text/html' } }));
    ingest = await startIngest(loadConfig(env()), logger);
    url = `http://127.0.0.1:${ingest.port}`;
    const startedAt = Date.now();
    for (let i = 0; i < 2; i++) screeners.push(await startScreener(loadConfig(env()), logger));
    await waitFor(() => readTopnSet(redis, prefix), 10_000, 'the first Top-N set');
    requestsPerPass = requestsSince(startedAt).length;
  });

  afterAll(async () => {
    for (const screener of screeners) await screener.stop();
    await ingest.stop();
    await finviz.close();
    await prisma.topnSnapshot.deleteMany({ where: { deployment: prefix } });
    await prisma.adminAction.deleteMany({ where: { deployment: prefix } });
    await deletePrefixKeys(prefix);
    await prisma.$disconnect();
    redis.disconnect();
  });

  it('refuses a request without the admin token (401), and asks the screener for nothing', async () => {
    expect((await request(url).post('/admin/screener/refresh')).status).toBe(401);
    expect((await request(url).post('/admin/screener/refresh').set('Authorization', 'Bearer wrong')).status).toBe(401);
    expect(await requested()).toBe(0);
  });

  it.each([
    ['an unknown field', { reason: 'x', pages: 3 }],
    ['an empty reason', { reason: '  ' }],
    ['a reason over 200 characters', { reason: 'x'.repeat(201) }],
    ['a reason with a control character', { reason: 'line\nbreak' }],
    ['an array', [1]],
  ])('answers 400 for a body with %s, and asks for nothing', async (_name, body) => {
    const res = await admin('/admin/screener/refresh').send(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_refresh', details: expect.any(Array) });
    expect(await requested()).toBe(0);
  });

  it('answers 400 for a body that is not JSON', async () => {
    const res = await admin('/admin/screener/refresh').set('Content-Type', 'application/json').send('{"reason":');
    expect(res.status).toBe(400);
    expect(await requested()).toBe(0);
  });

  it('asks at once (202); the leading replica alone scrapes, long before its next tick, and publishes', async () => {
    const before = (await readTopnSet(redis, prefix))!;
    const askedAt = Date.now();
    const res = await admin('/admin/screener/refresh').send({ reason: 'new filter saved' });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ requested: true, id: expect.any(String), by: 'ADMIN_TOKEN', reason: 'new filter saved' });
    expect(Date.parse(res.body.expires_at)).toBeGreaterThan(Date.parse(res.body.requested_at));

    // The console learns how it went from /status (what its Operations panel polls).
    const state = await waitFor(async () => {
      const screener = await screenerState();
      return screener.last_refresh?.id === res.body.id ? screener : null;
    }, 10_000, 'the outcome of the refresh on /status');
    expect(state.last_refresh).toMatchObject({ outcome: 'ok', published: true, by: 'ADMIN_TOKEN', reason: 'new filter saved' });
    // /status is public: a failed pass's error text (internal addresses, page bytes) is not on it.
    expect(state.last_refresh).not.toHaveProperty('error');
    expect(state.refresh_pending).toBe(false);
    // One pass, by one replica: the request was taken once.
    expect(requestsSince(askedAt)).toHaveLength(requestsPerPass);
    const after = (await readTopnSet(redis, prefix))!;
    expect(Date.parse(after.fetched_at)).toBeGreaterThan(Date.parse(before.fetched_at));
    expect(await requested()).toBe(0);

    const log = await request(url).get('/admin/actions?action=screener.refresh').set('Authorization', `Bearer ${ADMIN_TOKEN}`);
    expect(log.body.items).toEqual([expect.objectContaining({ action: 'screener.refresh', token_kind: 'admin_token', outcome: 'done', http_status: 202 })]);
  });

  it('refuses while the screener is paused (409) and asks for nothing; after a resume it refreshes again', async () => {
    expect((await admin('/admin/screener/pause').send({})).status).toBe(200);
    const refused = await admin('/admin/screener/refresh').send({});
    expect(refused.status).toBe(409);
    expect(refused.body.error).toBe('screener_paused');
    expect(await requested()).toBe(0);

    expect((await admin('/admin/screener/resume')).status).toBe(200);
    // A resume wakes the loop itself; the refresh asked for after it is still served (outcome ok).
    const res = await admin('/admin/screener/refresh').send({});
    expect(res.status).toBe(202);
    const state = await waitFor(async () => {
      const screener = await screenerState();
      return screener.last_refresh?.id === res.body.id ? screener : null;
    }, 10_000, 'the outcome of the refresh after the resume');
    expect(state.last_refresh).toMatchObject({ outcome: 'ok', reason: null });
  });
});

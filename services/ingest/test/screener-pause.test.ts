/**
 * POST /admin/screener/pause and /resume on ingest, end to end: real Redis, ingest and two
 * screener replicas, and a local stand-in for Finviz that counts the requests it gets.
 */
import request from 'supertest';
import IORedis from 'ioredis';
import { createLogger, loadConfig, readTopnSet, redisKeys } from '@tsp/core';
import { createPrisma } from '@tsp/db';
import { startIngest } from '../src/service';
import { startScreener, type RunningScreener } from '../../screener/src/service';
import { jsonOf, startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../../../test/support/helpers';
import { fixturePage } from '../../screener/test/fixtures';

const ADMIN_TOKEN = 'pause-admin-token';
const MAX_AGE_SEC = 3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('pausing and resuming the screener on every replica', () => {
  const prefix = uniquePrefix('scrpause');
  const redis = new IORedis(process.env.REDIS_URL!);
  const prisma = createPrisma(process.env.DATABASE_URL!);
  const logger = createLogger('test', process.env.LOG_LEVEL);
  let finviz: LocalServer;
  let ingest: Awaited<ReturnType<typeof startIngest>>;
  const screeners: RunningScreener[] = [];
  let url: string;

  const env = () => ({
    ...process.env, KEY_PREFIX: prefix, INGEST_PORT: '0', SCREENER_PORT: '0', ADMIN_TOKEN, TOP_N: '5',
    FINVIZ_URL: `${finviz.url}/screener?v=111&f=ta_gap_u5&o=-change&deployment=${prefix}`, FINVIZ_REFRESH_SEC: '1', FINVIZ_PAGE_DELAY_MS: '0',
    FINVIZ_ALLOWED_HOSTS: `finviz.com,127.0.0.1:${finviz.port}`, TOPN_MAX_AGE_SEC: String(MAX_AGE_SEC),
  });
  const startReplica = async () => {
    const screener = await startScreener(loadConfig(env()), logger);
    screeners.push(screener);
    return screener;
  };
  const requestsSince = (at: number) => finviz.received.filter((req) => req.at >= at && req.url.includes(`deployment=${prefix}`));
  const admin = (path: string) => request(url).post(path).set('Authorization', `Bearer ${ADMIN_TOKEN}`);
  const screenerStatus = (screener: RunningScreener) => jsonOf<{ paused: boolean; pause: { paused_at: string } | null; leader: boolean }>(fetch(`http://127.0.0.1:${screener.port}/status`));
  const ingestStatus = async () => (await request(url).get('/status')).body as { screener: { paused: boolean; paused_at: string | null; reason: string | null }; topn: { stale: boolean } };
  const running = () => screeners.filter((screener) => !stopped.has(screener));
  const stopped = new Set<RunningScreener>();

  beforeAll(async () => {
    finviz = await startLocalServer(() => ({ status: 200, body: fixturePage('finviz-screener-v111-2026.html'), headers: { 'content-type': 'text/html' } }));
    ingest = await startIngest(loadConfig(env()), logger);
    url = `http://127.0.0.1:${ingest.port}`;
    await startReplica();
    await startReplica();
    await waitFor(() => readTopnSet(redis, prefix), 10_000, 'the first Top-N set');
  });

  afterAll(async () => {
    for (const screener of screeners) await screener.stop();
    await ingest.stop();
    await finviz.close();
    await prisma.topnSnapshot.deleteMany({ where: { deployment: prefix } });
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await prisma.$disconnect();
    redis.disconnect();
  });

  it('refuses both routes without the admin token (401), and pauses nothing', async () => {
    expect((await request(url).post('/admin/screener/pause')).status).toBe(401);
    expect((await request(url).post('/admin/screener/pause').set('Authorization', 'Bearer wrong')).status).toBe(401);
    expect((await request(url).post('/admin/screener/resume')).status).toBe(401);
    expect(await redis.exists(redisKeys(prefix).screenerPaused)).toBe(0);
  });

  it.each([
    ['an unknown field', { reason: 'x', until: 'tomorrow' }],
    ['an empty reason', { reason: '  ' }],
    ['a reason over 200 characters', { reason: 'x'.repeat(201) }],
    ['an array', [1]],
  ])('answers 400 for a pause body with %s, and pauses nothing', async (_name, body) => {
    const res = await admin('/admin/screener/pause').send(body);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_pause', details: expect.any(Array) });
    expect(await redis.exists(redisKeys(prefix).screenerPaused)).toBe(0);
  });

  it('answers 400 for a pause body that is not JSON', async () => {
    const res = await admin('/admin/screener/pause').set('Content-Type', 'application/json').send('{"reason":');
    expect(res.status).toBe(400);
    expect(await redis.exists(redisKeys(prefix).screenerPaused)).toBe(0);
  });

  it('stops every replica within 2 s, lets the set age into stale, survives a leader change and a restart, and resumes', async () => {
    const res = await admin('/admin/screener/pause').send({ reason: 'maintenance window' });
    const pausedAt = Date.now();
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ paused: true, by: 'ADMIN_TOKEN', reason: 'maintenance window', changed: true });
    const before = (await readTopnSet(redis, prefix))!;

    // Every replica says so within 2 s, and from then on Finviz hears nothing.
    await waitFor(async () => (await Promise.all(running().map(screenerStatus))).every((status) => status.paused), 2000, 'every replica to be paused');
    await sleep(2000 - (Date.now() - pausedAt));
    const quietFrom = Date.now();
    // The leader stops (the other takes over) and a new replica starts: none of them scrapes.
    const leaderIndex = (await Promise.all(running().map(screenerStatus))).findIndex((status) => status.leader);
    const leader = running()[leaderIndex];
    await leader.stop();
    stopped.add(leader);
    const restarted = await startReplica();
    expect((await screenerStatus(restarted)).paused).toBe(true);
    await waitFor(async () => (await Promise.all(running().map(screenerStatus))).some((status) => status.leader), 3000, 'a new leader');
    await sleep(MAX_AGE_SEC * 1000);
    expect(requestsSince(quietFrom)).toEqual([]);

    // The set was not refreshed: it aged, and is stale now.
    const aged = (await readTopnSet(redis, prefix))!;
    expect(aged.fetched_at).toBe(before.fetched_at);
    const status = await ingestStatus();
    expect(status.screener).toEqual({ paused: true, paused_at: res.body.paused_at, by: 'ADMIN_TOKEN', reason: 'maintenance window', refresh_pending: false, last_refresh: null });
    expect(status.topn.stale).toBe(true);
    expect((await request(url).get('/finviz/topn')).body).toMatchObject({ stale: true });

    // Pausing again keeps the first pause.
    const again = await admin('/admin/screener/pause');
    expect(again.body).toMatchObject({ paused: true, paused_at: res.body.paused_at, changed: false });

    // Any body on resume is ignored.
    const resumed = await admin('/admin/screener/resume').set('Content-Type', 'text/plain').send('whatever');
    const resumedAt = Date.now();
    expect(resumed.status).toBe(200);
    expect(resumed.body).toEqual({ paused: false, paused_at: null, by: null, reason: null, changed: true });
    await waitFor(() => requestsSince(resumedAt).length > 0, 3000, 'a request after the resume');
    await waitFor(async () => (await readTopnSet(redis, prefix))!.fetched_at !== before.fetched_at, 3000, 'a fresh set');
    // /status is computed at most once a second.
    await waitFor(async () => (await ingestStatus()).screener.paused === false, 2000, '/status to say running');
    expect((await admin('/admin/screener/resume')).body).toMatchObject({ paused: false, changed: false });
  }, 30_000);

  it('a pause that reaches Redis without its announcement still stops the replicas within 2 s', async () => {
    await waitFor(async () => (await readTopnSet(redis, prefix)) !== null, 2000, 'the set');
    // Written as ingest would, but the announcement is lost: the replicas' periodic read must catch it.
    await redis.set(redisKeys(prefix).screenerPaused, JSON.stringify({ paused_at: new Date().toISOString(), by: 'ADMIN_TOKEN', reason: null }));
    const pausedAt = Date.now();
    await waitFor(async () => (await Promise.all(running().map(screenerStatus))).every((status) => status.paused), 2000, 'every replica to be paused');
    await sleep(2000 - (Date.now() - pausedAt));
    const quietFrom = Date.now();
    await sleep(2500);
    expect(requestsSince(quietFrom)).toEqual([]);
    await admin('/admin/screener/resume');
  }, 15_000);

  it('is described in /openapi.json with its schemas and the admin guard', async () => {
    const paths = (await request(url).get('/openapi.json')).body.paths;
    const pause = paths['/admin/screener/pause'].post;
    expect(pause.security).toEqual([{ adminToken: [] }, { adminSession: [] }]);
    expect(pause.requestBody.content['application/json'].schema.properties).toHaveProperty('reason');
    expect(pause.responses['200'].content['application/json'].schema.properties).toHaveProperty('paused_at');
    expect(Object.keys(paths['/admin/screener/resume'].post.responses)).toEqual(expect.arrayContaining(['200', '401']));
  });
});

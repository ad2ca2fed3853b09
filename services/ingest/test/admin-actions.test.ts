/**
 * The admin-action log through the real services (ingest and a forwarder over one Redis prefix and
 * Postgres): which credential, from which address, what, before and after; listed newest first in
 * keyset pages; and what an admin action does when its row cannot be written.
 */
import IORedis from 'ioredis';
import request from 'supertest';
import { createLogger, loadConfig, type Config } from '@tsp/core';
import { createAuditPool } from '@tsp/db';
import { startIngest } from '../src/service';
import { startForwarder } from '../../forwarder/src/service';
import { deletePrefixKeys, uniquePrefix } from '../../../test/support/helpers';

const ADMIN = 'admin-actions-admin-token';
const UPDATE = 'admin-actions-update-token';
type Ingest = Awaited<ReturnType<typeof startIngest>>;
type Action = Record<string, unknown> & { id: string; action: string; at: string };

describe('the admin-action log', () => {
  const prefix = uniquePrefix('actions');
  const redis = new IORedis(process.env.REDIS_URL!);
  const pool = createAuditPool(process.env.DATABASE_URL!);
  const running: { stop(): Promise<void> }[] = [];
  let config: Config;
  let url: string;
  let forwarderUrl: string;

  async function ingestWith(env: Record<string, string>): Promise<{ ingest: Ingest; url: string }> {
    const ingest = await startIngest(loadConfig({ ...process.env, ...env }), createLogger('ingest', 'error'));
    running.push(ingest);
    return { ingest, url: `http://127.0.0.1:${ingest.port}` };
  }

  beforeAll(async () => {
    const env = { KEY_PREFIX: prefix, INGEST_PORT: '0', FORWARDER_PORT: '0', ADMIN_TOKEN: ADMIN, FINVIZ_UPDATE_TOKEN: UPDATE, FINVIZ_URL: 'https://finviz.com/screener.ashx?v=111&o=-change' };
    config = loadConfig({ ...process.env, ...env });
    ({ url } = await ingestWith(env));
    const forwarder = await startForwarder(config, createLogger('forwarder', 'error'));
    running.push(forwarder);
    forwarderUrl = `http://127.0.0.1:${forwarder.port}`;
  });

  afterAll(async () => {
    for (const service of running.reverse()) await service.stop();
    await pool.query('DELETE FROM admin_actions WHERE deployment = $1', [prefix]);
    await pool.query('DELETE FROM finviz_config WHERE deployment = $1', [prefix]);
    await pool.query('DELETE FROM finviz_config_audit WHERE deployment = $1', [prefix]);
    await pool.end();
    await deletePrefixKeys(prefix);
    redis.disconnect();
  });

  const list = async (query = ''): Promise<{ items: Action[]; next_cursor: string | null }> => {
    const res = await request(url).get(`/admin/actions${query}`).set('Authorization', `Bearer ${ADMIN}`);
    expect(res.status).toBe(200);
    return res.body;
  };
  const newest = async (action: string) => (await list(`?action=${action}&limit=1`)).items[0];

  it('logs a Finviz config change with the token kind, the address, and before/after without credentials', async () => {
    const res = await request(url).post('/finviz/config').set('Authorization', `Bearer ${UPDATE}`)
      .send({ url: 'https://finviz.com/screener.ashx?v=111&f=ta_gap_u5&o=-change&auth=s3cret-token', top_n: 7 });
    expect(res.status).toBe(200);
    const row = await newest('finviz_config.update');
    expect(row).toMatchObject({
      token_kind: 'finviz_update_token', principal: 'FINVIZ_UPDATE_TOKEN', address: expect.stringMatching(/127\.0\.0\.1$/), target: null,
      before: { url: 'https://finviz.com/screener.ashx?v=111&o=-change', top_n: 15, source: 'environment' },
      after: { top_n: 7, source: 'database', url: expect.stringContaining('auth=***') },
      outcome: 'done', http_status: 200, finished_at: expect.any(String),
    });
    expect(JSON.stringify(row)).not.toContain('s3cret-token');

    const second = await request(url).post('/finviz/config').set('Authorization', `Bearer ${ADMIN}`).send({ refresh: 30 });
    expect(second.status).toBe(200);
    expect(await newest('finviz_config.update')).toMatchObject({ token_kind: 'admin_token', principal: 'ADMIN_TOKEN', before: { top_n: 7, refresh: 10 }, after: { top_n: 7, refresh: 30 } });
  });

  it('logs a refused change as refused, with no after', async () => {
    const res = await request(url).post('/finviz/config').set('Authorization', `Bearer ${ADMIN}`).send({ url: 'https://evil.example/screener.ashx' });
    expect(res.status).toBe(400);
    expect(await newest('finviz_config.update')).toMatchObject({ outcome: 'refused', http_status: 400, after: null });
  });

  it('logs manual sells with the sell token and what was queued', async () => {
    const one = await request(url).post('/sell/individual').send({ ticker: 'nasdaq:logx', token: UPDATE });
    expect(one.status).toBe(202);
    expect(await newest('manual_sell.individual')).toMatchObject({ token_kind: 'sell_token', principal: 'FINVIZ_UPDATE_TOKEN', target: 'LOGX', outcome: 'done', after: { ids: one.body.ids, tickers: ['LOGX'] } });
    const all = await request(url).post('/sell/all').send({ token: ADMIN });
    expect(all.status).toBe(202);
    expect(await newest('manual_sell.all')).toMatchObject({ token_kind: 'sell_token', principal: 'ADMIN_TOKEN', outcome: 'done' });
    // A ticker that is not one is logged quoted, control characters escaped, and refused.
    const bad = await request(url).post('/sell/individual').send({ ticker: 'A\u0000B', token: ADMIN });
    expect(bad.status).toBe(400);
    expect(await newest('manual_sell.individual')).toMatchObject({ target: '"A\\u0000B"', outcome: 'refused' });
  });

  it('logs an action taken with a console session as admin_session', async () => {
    const login = await request(url).post('/admin/login').type('form').send(`token=${ADMIN}`);
    const cookie = (login.headers['set-cookie'] as unknown as string[])[0].split(';')[0];
    const res = await request(url).post('/positions/SESSX/open').set('Cookie', cookie).set('Origin', url).send({});
    expect(res.status).toBe(200);
    expect(await newest('position.open')).toMatchObject({ token_kind: 'admin_session', principal: 'admin_session', target: 'SESSX' });
  });

  it('logs the forwarder\'s pause, resume and rate-cap changes with their before and after', async () => {
    const admin = { Authorization: `Bearer ${ADMIN}` };
    expect((await request(forwarderUrl).post('/admin/pause').set(admin)).status).toBe(200);
    expect((await request(forwarderUrl).post('/admin/resume').set(admin)).status).toBe(200);
    expect(await newest('delivery.pause')).toMatchObject({ token_kind: 'admin_token', before: { paused: false }, after: { paused: true }, outcome: 'done' });
    expect(await newest('delivery.resume')).toMatchObject({ before: { paused: true }, after: { paused: false } });
    expect((await request(forwarderUrl).post('/admin/rate-limit').set(admin).send({ max_per_minute: 42 })).status).toBe(200);
    expect(await newest('rate_limit.update')).toMatchObject({ before: { max_per_minute: 60 }, after: { max_per_minute: 42 } });
  });

  it('believes X-Forwarded-For for the address only behind TRUST_PROXY', async () => {
    const proxied = await ingestWith({ KEY_PREFIX: prefix, INGEST_PORT: '0', ADMIN_TOKEN: ADMIN, TRUST_PROXY: '1' });
    await request(proxied.url).post('/positions/PROXA/open').set('Authorization', `Bearer ${ADMIN}`).set('X-Forwarded-For', '203.0.113.9').send({});
    expect(await newest('position.open')).toMatchObject({ target: 'PROXA', address: '203.0.113.9' });
    await request(url).post('/positions/PROXB/open').set('Authorization', `Bearer ${ADMIN}`).set('X-Forwarded-For', '203.0.113.9').send({});
    expect(await newest('position.open')).toMatchObject({ target: 'PROXB', address: expect.stringMatching(/127\.0\.0\.1$/) });
  });

  it('lists newest first in keyset pages that neither skip nor repeat, however small', async () => {
    const all = (await list('?limit=500')).items;
    expect(all.length).toBeGreaterThanOrEqual(10);
    const times = all.map((a) => Date.parse(a.at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const paged: Action[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Action[]; next_cursor: string | null } = await list(`?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(3);
      paged.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    expect(paged.map((a) => a.id)).toEqual(all.map((a) => a.id));
  });

  it('filters by action and by time', async () => {
    const opens = (await list('?action=position.open')).items;
    expect(opens.length).toBeGreaterThan(0);
    expect(opens.every((a) => a.action === 'position.open')).toBe(true);
    const all = (await list()).items;
    const middle = all[Math.floor(all.length / 2)];
    const from = (await list(`?from=${encodeURIComponent(middle.at)}`)).items;
    expect(from.length).toBeGreaterThan(0);
    expect(from.every((a) => Date.parse(a.at) >= Date.parse(middle.at))).toBe(true);
    const to = (await list(`?to=${encodeURIComponent(middle.at)}`)).items;
    expect(to.every((a) => Date.parse(a.at) <= Date.parse(middle.at))).toBe(true);
    expect(from.length + to.length).toBeGreaterThanOrEqual(all.length);
    expect((await list('?action=no_such.action')).items).toEqual([]);
  });

  it('is described in /openapi.json with its guard and query', async () => {
    const doc = (await request(url).get('/openapi.json')).body;
    const route = doc.paths['/admin/actions'].get;
    expect(route.security).toEqual([{ adminToken: [] }, { adminSession: [] }]);
    expect(route.parameters.map((p: { name: string }) => p.name)).toEqual(['action', 'from', 'to', 'limit', 'cursor']);
    expect(doc.paths['/positions/{ticker}/close'].post.security).toEqual([{ adminToken: [] }, { adminSession: [] }]);
  });

  it('refuses without admin credentials: 401, and the Finviz token is not enough', async () => {
    expect((await request(url).get('/admin/actions')).status).toBe(401);
    expect((await request(url).get('/admin/actions').set('Authorization', `Bearer ${UPDATE}`)).status).toBe(401);
  });

  it.each([
    ['limit 0', '?limit=0'], ['limit 501', '?limit=501'], ['a limit that is not a number', '?limit=ten'], ['a fractional limit', '?limit=1.5'],
    ['an action with a control character', `?action=${encodeURIComponent('position.open\u0000')}`],
    ['an action with a Cyrillic look-alike', `?action=${encodeURIComponent('position.\u043Epen')}`],
    ['an action in capitals', '?action=POSITION.OPEN'], ['an action of 65 characters', `?action=${'a'.repeat(65)}`],
    ['a from that is not a time', '?from=yesterday'], ['a to without a zone', '?to=2026-12-01T10:00:00'],
    ['a cursor not given out', '?cursor=garbage'], ['a cursor with a non-numeric id', `?cursor=${Buffer.from(`${new Date().toISOString()}|abc`).toString('base64url')}`],
    ['a cursor of 201 characters', `?cursor=${'a'.repeat(201)}`], ['a misspelt filter', '?acton=position.open'],
  ])('answers 400 for %s', async (_name, query) => {
    const res = await request(url).get(`/admin/actions${query}`).set('Authorization', `Bearer ${ADMIN}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_query');
  });

  describe('with Postgres down', () => {
    let down: string;
    beforeAll(async () => {
      ({ url: down } = await ingestWith({ KEY_PREFIX: prefix, INGEST_PORT: '0', ADMIN_TOKEN: ADMIN, DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/unreachable' }));
    });

    it('refuses a correction it cannot log with 503 and leaves the position as it was', async () => {
      const res = await request(down).post('/positions/DOWNX/open').set('Authorization', `Bearer ${ADMIN}`).send({});
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      expect(res.body.message).toMatch(/admin-action log/);
      expect(await redis.hexists(`${prefix}:positions`, 'DOWNX')).toBe(0);
    });

    it('still takes a manual exit: an emergency exit must work unlogged', async () => {
      const res = await request(down).post('/sell/individual').send({ ticker: 'DOWNY', token: ADMIN });
      expect(res.status).toBe(202);
      expect(await redis.exists(`${prefix}:forward:${res.body.ids[0]}`, `${prefix}:signals:${res.body.ids[0]}`)).toBeGreaterThan(0);
    });
  });
});

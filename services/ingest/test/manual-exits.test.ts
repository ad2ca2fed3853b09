/**
 * Manual exits and positions, through the real services: ingest, approver and forwarder over one
 * Redis prefix, in a database of the suite's own (sell/all acts on every open position).
 */
import { randomUUID } from 'node:crypto';
import IORedis from 'ioredis';
import request from 'supertest';
import { createLogger, loadConfig, redisKeys, type RunningService, type TopnSet } from '@tsp/core';
import { startApprover } from '../../approver/src/service';
import { startForwarder } from '../../forwarder/src/service';
import { startIngest } from '../src/service';
import { isolatedDatabaseUrl, startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../../../test/support/helpers';

const ADMIN = 'exits-admin';
const UPDATE_TOKEN = 'exits-update';

describe('manual exits, positions and dead letters through ingest', () => {
  const prefix = uniquePrefix('exits');
  const redis = new IORedis(process.env.REDIS_URL!);
  const services: RunningService[] = [];
  let destination: LocalServer;
  let ingest: string;
  /** Tickers the destination refuses with 400 (permanent). */
  const refused = new Set<string>();
  const [AAA, BBB, CCC] = ['AAA', 'BBB', 'CCC'].map((t) => `${t}${randomUUID().slice(0, 4)}`.toUpperCase());

  beforeAll(async () => {
    destination = await startLocalServer((req) => (refused.has(JSON.parse(req.body).ticker) ? { status: 400, body: '{"error":"refused"}' } : { status: 200, body: '{"ok":true}' }));
    const config = loadConfig({
      ...process.env, KEY_PREFIX: prefix, DATABASE_URL: isolatedDatabaseUrl('exits'),
      INGEST_PORT: '0', APPROVER_PORT: '0', FORWARDER_PORT: '0',
      DEST_WEBHOOK_URL: `${destination.url}/hook`, DEST_WEBHOOK_MAX_REQ_PER_MIN: '6000',
      ADMIN_TOKEN: ADMIN, FINVIZ_UPDATE_TOKEN: UPDATE_TOKEN,
    });
    const set: TopnSet = { tickers: [AAA, BBB, CCC], top_n: 3, fetched_at: new Date().toISOString(), snapshot_id: randomUUID(), source: 'test' };
    await redis.set(redisKeys(prefix).topn, JSON.stringify(set));
    const logger = createLogger('exits', 'error');
    services.push(await startApprover(config, logger), await startForwarder(config, logger));
    const started = await startIngest(config, logger);
    services.push(started);
    ingest = `http://127.0.0.1:${started.port}`;
  });

  afterAll(async () => {
    for (const service of services.reverse()) await service.stop();
    await redis.del(...(await redis.keys(`${prefix}:*`)));
    redis.disconnect();
    await destination.close();
  });

  const deliveredTo = (id: string) => waitFor(() => destination.received.find((r) => r.headers['idempotency-key'] === id), 15_000, `delivery of ${id}`);
  const positions = async () => (await request(ingest).get('/positions').set('Authorization', `Bearer ${ADMIN}`)).body as { ticker: string; last_price: number | null }[];

  async function buy(ticker: string, price: number) {
    const posted = await request(ingest).post('/webhook/in').send({ ticker, side: 'buy', price });
    expect(posted.status).toBe(202);
    await deliveredTo(posted.body.id);
    await waitFor(async () => (await positions()).some((p) => p.ticker === ticker), 10_000, `position ${ticker}`);
  }

  it('opens a position for each delivered BUY and shows it at GET /positions (admin only)', async () => {
    await buy(AAA, 10.5);
    expect(await positions()).toEqual([{ ticker: AAA, opened_at: expect.any(String), last_price: 10.5 }]);
    expect((await request(ingest).get('/positions')).status).toBe(401);
  });

  it('refuses a manual exit with a wrong or missing token and queues nothing', async () => {
    for (const body of [{ ticker: AAA }, { ticker: AAA, token: 'wrong' }]) {
      const res = await request(ingest).post('/sell/individual').send(body);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('unauthorized');
    }
    expect((await request(ingest).post('/sell/all').send({ token: 'wrong' })).status).toBe(401);
    expect(await redis.exists(`${prefix}:signals:wait`, `${prefix}:signals:prioritized`)).toBe(0);
  });

  it('answers 400 naming the ticker when it is missing', async () => {
    const res = await request(ingest).post('/sell/individual').send({ token: ADMIN });
    expect(res.status).toBe(400);
    expect(res.body.details).toEqual([expect.objectContaining({ field: 'ticker' })]);
  });

  it.each([['a Cyrillic look-alike', '\u0410APL'], ['two class suffixes', 'BRK.B.C'], ['a template leftover', '{{ticker}}']])(
    'refuses a manual exit for a ticker with %s, saying why, and queues nothing',
    async (_name, ticker) => {
      const res = await request(ingest).post('/sell/individual').send({ ticker, token: ADMIN });
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([{ field: 'ticker', message: expect.stringMatching(/^ticker ".+" \S/) }]);
      expect(await redis.exists(`${prefix}:signals:wait`, `${prefix}:signals:prioritized`)).toBe(0);
    },
  );

  it('sells one ticker with action exit and the last known price, audited as manual, and closes the position', async () => {
    const res = await request(ingest).post('/sell/individual').send({ ticker: AAA.toLowerCase(), token: UPDATE_TOKEN });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ ids: [expect.any(String)], tickers: [AAA] });
    const [id] = res.body.ids;
    const delivered = await deliveredTo(id);
    expect(JSON.parse(delivered.body)).toEqual({ ticker: AAA, side: 'SELL', action: 'exit', price: 10.5, time: expect.any(String) });
    const view = await waitFor(async () => {
      const signal = await request(ingest).get(`/signals/${id}`).set('Authorization', `Bearer ${ADMIN}`);
      return signal.body.status === 'forwarded' ? signal.body : null;
    }, 10_000, 'the manual exit forwarded');
    expect(view).toMatchObject({ kind: 'manual', side: 'SELL', basis: 'manual' });
    await waitFor(async () => !(await positions()).some((p) => p.ticker === AAA), 10_000, 'the position to close');
  });

  it('sells every open position at once', async () => {
    await buy(BBB, 20);
    await buy(CCC, 30);
    const res = await request(ingest).post('/sell/all').send({ token: ADMIN });
    expect(res.status).toBe(202);
    expect(res.body.tickers.sort()).toEqual([BBB, CCC].sort());
    for (const id of res.body.ids) await deliveredTo(id);
    await waitFor(async () => (await positions()).length === 0, 10_000, 'every position to close');
    const sells = destination.received.map((r) => JSON.parse(r.body)).filter((b) => b.action === 'exit');
    expect(sells.map((b) => [b.ticker, b.price]).sort()).toEqual([[AAA, 10.5], [BBB, 20], [CCC, 30]].sort());
  });

  it('lists a dead delivery on the ingest admin API and replays it there', async () => {
    refused.add(AAA);
    const posted = await request(ingest).post('/webhook/in').send({ ticker: AAA, side: 'buy' });
    const id = posted.body.id;
    const dead = await waitFor(async () => {
      const list = await request(ingest).get('/admin/dead').set('Authorization', `Bearer ${ADMIN}`);
      return list.body.items?.find((item: { id: string }) => item.id === id);
    }, 10_000, 'the dead letter');
    expect(dead).toMatchObject({ status: 'dead', reason: 'permanent_error', deliveries: [expect.objectContaining({ attempt: 1, http_status: 400 })] });
    expect((await request(ingest).post(`/admin/dead/${id}/replay`)).status).toBe(401);

    refused.delete(AAA);
    const replay = await request(ingest).post(`/admin/dead/${id}/replay`).set('Authorization', `Bearer ${ADMIN}`);
    expect(replay.status).toBe(202);
    await waitFor(async () => (await request(ingest).get(`/signals/${id}`).set('Authorization', `Bearer ${ADMIN}`)).body.status === 'forwarded', 10_000, 'the replay');
    expect(destination.received.filter((r) => r.headers['idempotency-key'] === id)).toHaveLength(2);
  });
});

/**
 * GET /signals/:id as the console's detail view reads it, for signals that went through the relay
 * (real Redis, Postgres, HTTP): the body as the sender posted it without its secret, the Top-N set
 * it was judged on with its ticker marked, and every delivery attempt.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { QUEUE, redisKeys, type TopnSet } from '@tsp/core';
import { createAuditPool } from '@tsp/db';
import { ADMIN, startRelayStack, type RelayStack } from './support/relay-stack';
import { deletePrefixKeys, waitFor } from './support/helpers';

const SECRET = 'detail-webhook-secret-0123456789';

describe('the detail of one signal', () => {
  const pool = createAuditPool(process.env.DATABASE_URL!);
  let stack: RelayStack;
  let snapshotId: string;
  const tickers = ['NVDA', 'DTLA', 'AAPL'];

  beforeAll(async () => {
    // The first attempt of every signal fails (503), the second is delivered.
    stack = await startRelayStack({ label: 'detail', env: { WEBHOOK_SECRET: SECRET }, answer: (_req, attempt) => (attempt === 1 ? { status: 503 } : { status: 200 }) });
    // The screener records each set in Postgres as it publishes it: this stands in for it.
    snapshotId = randomUUID();
    const set: TopnSet = { tickers, top_n: 3, fetched_at: new Date().toISOString(), snapshot_id: snapshotId, source: 'finviz.com' };
    await pool.query(`INSERT INTO topn_snapshots (id, tickers, top_n, fetched_at, source, deployment) VALUES ($1, $2, 3, $3, 'finviz.com', $4)`,
      [snapshotId, tickers, set.fetched_at, stack.prefix]);
    await stack.redis.set(redisKeys(stack.prefix).topn, JSON.stringify(set));
    await stack.redis.publish(redisKeys(stack.prefix).topnUpdated, snapshotId);
    await waitFor(async () => (await request(stack.ingest).get('/finviz/topn')).body.snapshot_id === snapshotId, 10_000, 'the Top-N');
    await new Promise((resolve) => setTimeout(resolve, 200));
  });

  afterAll(async () => {
    await stack.stop();
    await pool.query('DELETE FROM signals WHERE deployment = $1', [stack.prefix]);
    await pool.query('DELETE FROM topn_snapshots WHERE id = $1', [snapshotId]);
    await pool.end();
    await deletePrefixKeys(stack.prefix);
  });

  const detail = (id: string) => request(stack.ingest).get(`/signals/${id}`).set('Authorization', `Bearer ${ADMIN}`);

  it('shows the body as posted (own fields unnormalised), without the secret, which is stored nowhere', async () => {
    const posted = { ticker: 'nasdaq:dtla', action: 'long', price: '12.50', time: Math.floor(Date.now() / 1000), note: 'breakout', secret: SECRET };
    const res = await request(stack.ingest).post('/webhook/in').set('Content-Type', 'text/plain').send(JSON.stringify(posted));
    expect(res.status).toBe(202);
    const id = res.body.id as string;
    // While it waits in Redis the view comes from its job, which holds no secret either.
    const job = await stack.redis.hget(redisKeys(stack.prefix).job(QUEUE.signals, id), 'data');
    expect(job).not.toBeNull();
    expect(job).not.toContain(SECRET);

    const view = await waitFor(async () => {
      const body = (await detail(id)).body;
      return body.status === 'forwarded' ? body : null;
    }, 15_000, 'the delivery');
    const { secret: _secret, ...asPosted } = posted;
    expect(view.received_body).toEqual(asPosted);
    expect(view).toMatchObject({ ticker: 'DTLA', side: 'BUY', price: 12.5, rank: 2, snapshot_id: snapshotId, basis: 'topn' });

    const { rows } = await pool.query('SELECT body::text AS body, received_body::text AS received FROM signals WHERE id = $1', [id]);
    expect(rows[0].body).not.toContain(SECRET);
    expect(rows[0].received).not.toContain(SECRET);
    const forwardJob = await stack.redis.hget(redisKeys(stack.prefix).job(QUEUE.forward, id), 'data');
    expect(forwardJob ?? '').not.toContain(SECRET);
    // The destination got the normalised body, never the secret.
    expect(stack.destination.received.map((r) => r.body).join('')).not.toContain(SECRET);
  });

  it('shows the Top-N set it was judged on, ranked, with its ticker marked, and both attempts', async () => {
    const res = await request(stack.ingest).post('/webhook/in').send({ ticker: 'AAPL', side: 'buy', secret: SECRET });
    const id = res.body.id as string;
    const view = await waitFor(async () => {
      const body = (await detail(id)).body;
      return body.status === 'forwarded' ? body : null;
    }, 15_000, 'the delivery');
    expect(view.snapshot).toEqual({
      snapshot_id: snapshotId, fetched_at: expect.any(String), top_n: 3, source: 'finviz.com',
      tickers: [
        { rank: 1, ticker: 'NVDA', is_signal_ticker: false },
        { rank: 2, ticker: 'DTLA', is_signal_ticker: false },
        { rank: 3, ticker: 'AAPL', is_signal_ticker: true },
      ],
    });
    expect(view.deliveries).toEqual([
      { attempt: 1, at: expect.any(String), http_status: 503, latency_ms: expect.any(Number), error: expect.any(String) },
      { attempt: 2, at: expect.any(String), http_status: 200, latency_ms: expect.any(Number), error: null },
    ]);
  });

  it('shows the set a rejected BUY was judged on, its ticker absent from it', async () => {
    const res = await request(stack.ingest).post('/webhook/in').send({ ticker: 'MSFT', side: 'buy', secret: SECRET });
    const id = res.body.id as string;
    const view = await waitFor(async () => {
      const body = (await detail(id)).body;
      return body.status === 'rejected' && body.snapshot ? body : null;
    }, 15_000, 'the rejection');
    expect(view.reason).toBe('not_in_topn');
    expect(view.snapshot.tickers.map((t: { ticker: string }) => t.ticker)).toEqual(tickers);
    expect(view.snapshot.tickers.some((t: { is_signal_ticker: boolean }) => t.is_signal_ticker)).toBe(false);
  });

  it('shows a manual exit with no received body (nobody posted it), and the set in force when it was decided', async () => {
    const res = await request(stack.ingest).post('/sell/individual').send({ ticker: 'ZZZZ', token: ADMIN });
    expect(res.status).toBe(202);
    const id = res.body.ids[0] as string;
    const view = await waitFor(async () => {
      const body = (await detail(id)).body;
      return body.status && body.status !== 'queued' ? body : null;
    }, 15_000, 'the decision');
    expect(view).toMatchObject({ kind: 'manual', basis: 'manual', received_body: null, snapshot: { snapshot_id: snapshotId } });
  });

  it.each([
    ['not a UUID', 'not-a-uuid'],
    ['a UUID with a trailing control character', `${randomUUID()}%00`],
    ['a UUID with a Cyrillic look-alike', encodeURIComponent(`${randomUUID().slice(0, -1)}\u0430`)],
    ['a UUID of 10,000 characters', 'a'.repeat(10_000)],
  ])('answers 400 for an id that is %s', async (_name, id) => {
    const res = await request(stack.ingest).get(`/signals/${id}`).set('Authorization', `Bearer ${ADMIN}`);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_id');
  });

  it('answers 404 for an unknown id and 401 without credentials', async () => {
    expect((await detail(randomUUID())).status).toBe(404);
    expect((await request(stack.ingest).get(`/signals/${randomUUID()}`)).status).toBe(401);
  });
});

/**
 * The whole relay, end to end: a local stand-in for Finviz serving a saved screener page, the four
 * services, a local destination; real Redis, Postgres and HTTP throughout.
 */
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { createLogger, loadConfig, type RunningService } from '@tsp/core';
import { startScreener } from '../services/screener/src/service';
import { startApprover } from '../services/approver/src/service';
import { startForwarder } from '../services/forwarder/src/service';
import { startIngest } from '../services/ingest/src/service';
import { startLocalServer, uniquePrefix, waitFor, type LocalServer } from './support/helpers';

const PAGE = fs.readFileSync(path.join(__dirname, '../fixtures/finviz/finviz-screener-v111-2026.html'), 'utf8');
const PAGE_TICKERS: string[] = JSON.parse(fs.readFileSync(path.join(__dirname, '../fixtures/finviz/tickers.json'), 'utf8'))['finviz-screener-v111-2026.html'];
const TOP_N = 5;
const ADMIN = 'e2e-admin';
const TOO_MANY_REQUESTS = '<html><head><title>Too Many Requests</title></head><body>Too Many Requests</body></html>';

describe('a signal travelling through the relay', () => {
  const prefix = uniquePrefix('e2e');
  let finviz: LocalServer;
  let destination: LocalServer;
  let finvizBlocked = false;
  const services: RunningService[] = [];
  let ingestUrl: string;

  beforeAll(async () => {
    finviz = await startLocalServer(() => (finvizBlocked ? { status: 200, body: TOO_MANY_REQUESTS } : { status: 200, body: PAGE, headers: { 'content-type': 'text/html' } }));
    destination = await startLocalServer();
    const config = loadConfig({
      ...process.env,
      KEY_PREFIX: prefix,
      INGEST_PORT: '0', SCREENER_PORT: '0', APPROVER_PORT: '0', FORWARDER_PORT: '0',
      FINVIZ_URL: `${finviz.url}/screener?v=111&f=ta_gap_u5&o=-change`,
      FINVIZ_REFRESH_SEC: '1',
      TOP_N: String(TOP_N),
      TOPN_MAX_AGE_SEC: '3',
      DEST_WEBHOOK_URL: `${destination.url}/hook`,
      DEST_WEBHOOK_MAX_REQ_PER_MIN: '6000',
      ADMIN_TOKEN: ADMIN,
    });
    const logger = createLogger('e2e', 'error');
    services.push(await startScreener(config, logger), await startApprover(config, logger), await startForwarder(config, logger));
    const ingest = await startIngest(config, logger);
    services.push(ingest);
    ingestUrl = `http://127.0.0.1:${ingest.port}`;
    await waitFor(async () => (await request(ingestUrl).get('/finviz/topn')).status === 200, 15_000, 'the first Top-N');
  });

  afterAll(async () => {
    for (const service of services.reverse()) await service.stop();
    await finviz.close();
    await destination.close();
  });

  const signal = (id: string) => request(ingestUrl).get(`/signals/${id}`).set('Authorization', `Bearer ${ADMIN}`);

  it('publishes the screener page rows 1..TOP_N in page order', async () => {
    const res = await request(ingestUrl).get('/finviz/topn');
    expect(res.body).toMatchObject({ tickers: PAGE_TICKERS.slice(0, TOP_N), top_n: TOP_N, stale: false, snapshot_id: expect.any(String) });
  });

  it('delivers a Top-N BUY to the destination with its body and Idempotency-Key, and shows it forwarded', async () => {
    const ticker = PAGE_TICKERS[1];
    const posted = await request(ingestUrl).post('/webhook/in').send({ ticker: `NASDAQ:${ticker.toLowerCase()}`, action: 'buy', price: '12.5', qty: 10 });
    expect(posted.status).toBe(202);
    const id = posted.body.id;

    const delivered = await waitFor(() => destination.received.find((r) => r.headers['idempotency-key'] === id), 15_000, 'the delivery');
    expect(delivered.method).toBe('POST');
    expect(delivered.url).toBe('/hook');
    expect(delivered.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(delivered.body)).toEqual({ ticker, side: 'BUY', action: 'buy', price: 12.5, qty: 10, time: expect.any(String) });

    const topn = await request(ingestUrl).get('/finviz/topn');
    const view = await waitFor(async () => {
      const res = await signal(id);
      return res.body.status === 'forwarded' ? res.body : null;
    }, 10_000, 'status forwarded');
    expect(view).toMatchObject({ id, kind: 'source', ticker, side: 'BUY', price: 12.5, basis: 'topn', rank: 2, snapshot_id: topn.body.snapshot_id, reason: null });
    expect(view.deliveries).toEqual([{ attempt: 1, at: expect.any(String), http_status: 200, latency_ms: expect.any(Number), error: null }]);
  });

  it('rejects a ticker outside the Top-N with not_in_topn and never delivers it', async () => {
    const ticker = PAGE_TICKERS[TOP_N]; // rank TOP_N + 1: on the page, but not in the Top-N
    const posted = await request(ingestUrl).post('/webhook/in').send({ ticker, side: 'buy' });
    const id = posted.body.id;
    const view = await waitFor(async () => {
      const res = await signal(id);
      return res.body.status === 'rejected' ? res.body : null;
    }, 10_000, 'the rejection');
    expect(view).toMatchObject({ reason: 'not_in_topn', basis: null, deliveries: [] });
    // A later approved signal is delivered; the rejected one still is not.
    const later = await request(ingestUrl).post('/webhook/in').send({ ticker: PAGE_TICKERS[0], side: 'buy' });
    await waitFor(() => destination.received.find((r) => r.headers['idempotency-key'] === later.body.id), 15_000, 'the later delivery');
    expect(destination.received.some((r) => r.headers['idempotency-key'] === id)).toBe(false);
  });

  it('sums up the whole relay on ingest: /status counters and rates, /metrics with every contract metric', async () => {
    // Ingest writes its received count a few times a second, not per request, and the forwarder
    // counts a delivery after the destination answered it: wait until every approved signal has ended.
    const status = await waitFor(async () => {
      const body = (await request(ingestUrl).get('/status')).body;
      const { received, approved, forwarded, dead } = body.counters;
      return received === 3 && forwarded + dead === approved ? body : null;
    }, 10_000, 'the counters to settle');
    expect(status.counters).toMatchObject({ received: 3, approved: 2, rejected: 1, forwarded: 2, dead: 0 });
    expect(status.approval_rate_percent).toBeCloseTo(66.7, 1);
    expect(status.forward_success_rate_percent).toBe(100);
    expect(status.workers).toEqual({ approver: 1, forwarder: 1 });
    expect(status.topn).toMatchObject({ top_n: TOP_N, stale: false, snapshot_id: expect.any(String) });
    expect(status.rate_limiter).toMatchObject({ enabled: true, max_per_min: 6000 });

    // A forward job is marked completed after its delivery is counted.
    const drained = (text: string) => ['waiting', 'active', 'delayed'].every((state) =>
      new RegExp(`^tsp_queue_jobs\\{queue="forward",state="${state}",service="ingest"\\} 0$`, 'm').test(text));
    const metrics = await waitFor(async () => {
      const text = (await request(ingestUrl).get('/metrics')).text;
      return drained(text) ? text : null;
    }, 10_000, 'the forward queue to drain');
    expect(metrics).toMatch(/^tsp_signals_received_total\{service="ingest"\} 3$/m);
    expect(metrics).toMatch(/^tsp_signals_approved_total\{basis="topn",service="ingest"\} 2$/m);
    expect(metrics).toMatch(/^tsp_signals_rejected_total\{reason="not_in_topn",service="ingest"\} 1$/m);
    expect(metrics).toMatch(/^tsp_forward_attempts_total\{outcome="delivered",service="ingest"\} 2$/m);
    expect(metrics).toMatch(/^tsp_queue_jobs\{queue="forward",state="completed",service="ingest"\} 2$/m);
    expect(metrics).toMatch(/^tsp_signal_e2e_seconds_count\{service="ingest"\} 2$/m);
    expect(metrics).toMatch(/^tsp_signal_e2e_seconds_bucket\{le="\+Inf",service="ingest"\} 2$/m);
  });

  it('rejects with topn_stale once Finviz stops answering for longer than TOPN_MAX_AGE_SEC', async () => {
    finvizBlocked = true;
    await waitFor(async () => (await request(ingestUrl).get('/finviz/topn')).body.stale === true, 20_000, 'the set to go stale');
    const posted = await request(ingestUrl).post('/webhook/in').send({ ticker: PAGE_TICKERS[0], side: 'buy' });
    const view = await waitFor(async () => {
      const res = await signal(posted.body.id);
      return res.body.status === 'rejected' ? res.body : null;
    }, 10_000, 'the rejection');
    expect(view).toMatchObject({ reason: 'topn_stale', rank: 1 });
    finvizBlocked = false;
  });
});

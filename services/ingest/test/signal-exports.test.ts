/**
 * GET /signals.csv and /signals.ndjson through ingest over a real Postgres holding 100,000 signals
 * (inserted with generate_series): every row streams, in bounded memory, with the filters of
 * /signals, and the CSV survives a spreadsheet (escaping, no formulas).
 */
import http from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { parse } from 'csv-parse/sync';
import { createLogger, loadConfig } from '@tsp/core';
import { createAuditPool } from '@tsp/db';
import { startIngest } from '../src/service';
import { SIGNAL_CSV_COLUMNS } from '../src/export/signal-csv';
import { deletePrefixKeys, uniquePrefix } from '../../../test/support/helpers';

const ADMIN = 'exports-admin-token';
const TOTAL = 100_000;
/**
 * The suite's signals were received before this; other suites write rows without a deployment,
 * which every deployment sees, as they run: a count taken after the export must not see those.
 */
const WINDOW_END = '2026-06-01T00:00:00Z';

interface Streamed {
  status: number;
  headers: http.IncomingHttpHeaders;
  lines: number;
  /** The first lines, kept for a look at the header and a row. */
  head: string[];
  /** The most the live heap (after a full collection) grew while the body streamed, in bytes. */
  peakLiveGrowth: number;
}

// The server runs in this process: its live heap, measured after a full collection, is what it holds.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;
const liveHeap = () => {
  collectGarbage();
  return process.memoryUsage().heapUsed;
};
/** Chunks between two measurements: a full collection costs a few milliseconds. */
const MEASURE_EVERY = 100;

/** Reads a response chunk by chunk, counting lines, without keeping the body. */
function stream(url: string, path: string): Promise<Streamed> {
  return new Promise((resolve, reject) => {
    const baseline = liveHeap();
    let peak = 0;
    let lines = 0;
    let chunks = 0;
    let head = '';
    http.get(`${url}${path}`, { headers: { Authorization: `Bearer ${ADMIN}` } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        lines += chunk.split('\n').length - 1;
        if (head.length < 4096) head += chunk.slice(0, 4096);
        if (++chunks % MEASURE_EVERY === 0) peak = Math.max(peak, liveHeap() - baseline);
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, lines, head: head.split('\n').slice(0, 3), peakLiveGrowth: peak }));
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe('signal exports', () => {
  const prefix = uniquePrefix('exports');
  const pool = createAuditPool(process.env.DATABASE_URL!);
  const special = randomUUID();
  let ingest: Awaited<ReturnType<typeof startIngest>>;
  let url: string;
  /** How many signals this deployment sees (its own, and rows written before signals were per deployment). */
  const expected = async (where = 'true', params: unknown[] = []) =>
    (await pool.query(`SELECT count(*)::int AS n FROM signals WHERE (deployment = $1 OR deployment IS NULL) AND ${where}`, [prefix, ...params])).rows[0].n as number;

  beforeAll(async () => {
    await pool.query(`
      INSERT INTO signals (id, kind, ticker, side, action, price, "time", received_at, status, reason, basis, body, updated_at, deployment)
      SELECT gen_random_uuid(), 'source', 'EXP' || (g % 50), CASE WHEN g % 2 = 0 THEN 'BUY' ELSE 'SELL' END, 'buy', 1 + g / 100.0,
             timestamptz '2026-01-01T00:00:00Z' + g * interval '1 minute', timestamptz '2026-01-01T00:00:00Z' + g * interval '1 minute',
             CASE WHEN g % 3 = 0 THEN 'forwarded' WHEN g % 3 = 1 THEN 'rejected' ELSE 'dead' END,
             CASE WHEN g % 3 = 1 THEN 'not_in_topn' WHEN g % 3 = 2 THEN 'attempts_exhausted' END, 'topn', '{}'::jsonb, now(), $1
      FROM generate_series(1, $2::int) g`, [prefix, TOTAL - 1]);
    // One signal whose cells need quoting, and one that a spreadsheet would read as a formula.
    await pool.query(`
      INSERT INTO signals (id, kind, ticker, side, action, "time", received_at, status, reason, snapshot_id, body, updated_at, deployment)
      VALUES ($1, 'manual', 'QUOTE', 'SELL', 'exit', '2025-06-01T00:00:00Z', '2025-06-01T00:00:00Z', 'dead', 'permanent_error', $2, '{}'::jsonb, now(), $3)`,
    [special, '=HYPERLINK("http://evil.example","click")', prefix]);
    await pool.query(`INSERT INTO deliveries (signal_id, attempt, at, http_status, latency_ms, error) VALUES ($1, 1, now(), 400, 12, $2)`,
      [special, '-bad request: "quoted", with commas\nand a second line']);
    ingest = await startIngest(loadConfig({ ...process.env, KEY_PREFIX: prefix, INGEST_PORT: '0', ADMIN_TOKEN: ADMIN }), createLogger('ingest', 'error'));
    url = `http://127.0.0.1:${ingest.port}`;
  }, 120_000);

  afterAll(async () => {
    await ingest.stop();
    await pool.query('DELETE FROM signals WHERE deployment = $1', [prefix]);
    await pool.end();
    await deletePrefixKeys(prefix);
  });

  it('streams all 100,000 signals as CSV with a header row, holding only pages in memory', async () => {
    const res = await stream(url, `/signals.csv?to=${WINDOW_END}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="signals-[0-9TZ-]+\.csv"$/);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.head[0]).toBe(`${SIGNAL_CSV_COLUMNS.join(',')}\r`);
    // Newest first: the last generated signal leads. The special signal's error holds one newline of its own.
    expect(res.head[1]).toMatch(/^[0-9a-f-]{36},source,EXP49,SELL,/);
    expect(res.lines).toBe(1 + (await expected('received_at <= $2', [WINDOW_END])) + 1);
    // 100,000 signals held at once would be well over 100 MB of live objects (and 15 MB of CSV); a page of 1,000 is a few MB.
    expect(res.peakLiveGrowth).toBeLessThan(30 * 1024 * 1024);
  }, 120_000);

  it('streams signals as NDJSON, one signal view a line, in bounded memory too', async () => {
    const res = await stream(url, `/signals.ndjson?status=forwarded&to=${WINDOW_END}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/\.ndjson"$/);
    expect(res.lines).toBe(await expected("status = 'forwarded' AND received_at <= $2", [WINDOW_END]));
    expect(JSON.parse(res.head[0])).toEqual(expect.objectContaining({ ticker: 'EXP49', side: 'SELL', status: 'forwarded', deliveries: [] }));
    expect(res.peakLiveGrowth).toBeLessThan(30 * 1024 * 1024);
  }, 120_000);

  it('applies the filters of /signals: ticker (by the ticker rule), side, status and time', async () => {
    const csv = await request(url).get('/signals.csv?ticker=exp8&side=buy&status=forwarded&from=2026-01-10T00:00:00Z&to=2026-02-10T00:00:00Z').set('Authorization', `Bearer ${ADMIN}`);
    expect(csv.status).toBe(200);
    const rows = parse<Record<string, string>>(csv.text, { columns: true });
    expect(rows.length).toBe(await expected("ticker = 'EXP8' AND side = 'BUY' AND status = 'forwarded' AND received_at BETWEEN '2026-01-10T00:00:00Z' AND '2026-02-10T00:00:00Z'"));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.ticker === 'EXP8' && r.side === 'BUY' && r.status === 'forwarded')).toBe(true);
    expect(rows.every((r) => r.received_at >= '2026-01-10T00:00:00' && r.received_at <= '2026-02-10T00:00:00.000Z')).toBe(true);

    const ndjson = await request(url).get('/signals.ndjson?ticker=EXP7&status=dead').set('Authorization', `Bearer ${ADMIN}`).buffer(true).parse((res, done) => {
      let text = '';
      res.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      res.on('end', () => done(null, text));
    });
    const views = (ndjson.body as string).trim().split('\n').map((line) => JSON.parse(line));
    expect(views.length).toBe(await expected("ticker = 'EXP7' AND status = 'dead'"));
    expect(views.every((v) => v.ticker === 'EXP7' && v.status === 'dead' && v.reason === 'attempts_exhausted')).toBe(true);
  });

  it('quotes cells with quotes, commas and newlines, and defuses cells a spreadsheet would run as formulas', async () => {
    const csv = await request(url).get('/signals.csv?ticker=QUOTE').set('Authorization', `Bearer ${ADMIN}`);
    const [row] = parse<Record<string, string>>(csv.text, { columns: true });
    expect(row).toMatchObject({
      id: special, kind: 'manual', ticker: 'QUOTE', status: 'dead', attempts: '1', last_http_status: '400',
      snapshot_id: '\'=HYPERLINK("http://evil.example","click")',
      last_error: '\'-bad request: "quoted", with commas\nand a second line',
    });
    expect(csv.text).toContain('"\'-bad request: ""quoted"", with commas\nand a second line"');
  });

  it('refuses a /signals cursor it did not give out with 400, one whose id is not a signal id included', async () => {
    const forged = Buffer.from('2026-01-01T00:00:00Z|x').toString('base64url');
    for (const cursor of [forged, 'not-base64-!', Buffer.from('yesterday|00000000-0000-4000-8000-000000000000').toString('base64url')]) {
      const res = await request(url).get(`/signals?cursor=${encodeURIComponent(cursor)}`).set('Authorization', `Bearer ${ADMIN}`);
      expect([cursor, res.status]).toEqual([cursor, 400]);
    }
  });

  it('answers 401 without admin credentials', async () => {
    for (const path of ['/signals.csv', '/signals.ndjson']) {
      expect((await request(url).get(path)).status).toBe(401);
      expect((await request(url).get(path).set('Authorization', 'Bearer wrong')).status).toBe(401);
    }
  });

  it.each([
    ['status=queued (not in the audit trail)', '?status=queued'],
    ['an unknown status', '?status=lost'],
    ['a side that is not BUY or SELL', '?side=hold'],
    ['a ticker with a Cyrillic look-alike', `?ticker=${encodeURIComponent('\u0410APL')}`],
    ['a ticker with a control character', '?ticker=AA%00PL'],
    ['a ticker of 41 characters', `?ticker=${'A'.repeat(41)}`],
    ['a ticker given twice', '?ticker=AAPL&ticker=MSFT'],
    ['a from that is not a time', '?from=last-week'],
    ['a to without a zone', '?to=2026-01-01T00:00:00'],
  ])('answers 400 for %s', async (_name, query) => {
    for (const path of ['/signals.csv', '/signals.ndjson']) {
      const res = await request(url).get(`${path}${query}`).set('Authorization', `Bearer ${ADMIN}`);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_query');
    }
  });

  it('answers 503 when Postgres is down, before any of the file is sent', async () => {
    const down = await startIngest(loadConfig({ ...process.env, KEY_PREFIX: prefix, INGEST_PORT: '0', ADMIN_TOKEN: ADMIN, DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/unreachable' }), createLogger('ingest', 'error'));
    try {
      const res = await request(`http://127.0.0.1:${down.port}`).get('/signals.csv').set('Authorization', `Bearer ${ADMIN}`);
      expect(res.status).toBe(503);
      expect(res.headers['content-disposition']).toBeUndefined();
    } finally {
      await down.stop();
    }
  });
});

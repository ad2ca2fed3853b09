/**
 * The console's pages, files and the routes it added, through a real ingest on real Redis and
 * Postgres: nothing of the console without a session (a login form for pages, 401 for the API and
 * files), a strict Content-Security-Policy, and the console's session accepted where it acts
 * (config, exits, delivery pause) only from its own origin.
 */
import request from 'supertest';
import { Queue } from 'bullmq';
import IORedis from 'ioredis';
import { createLogger, loadConfig, QUEUE } from '@tsp/core';
import { createAuditPool } from '@tsp/db';
import { startIngest } from '../src/service';
import { deletePrefixKeys, uniquePrefix } from '../../../test/support/helpers';

const TOKEN = 'console-pages-admin-token';
const UUID = '00000000-0000-4000-8000-000000000000';

type Ingest = Awaited<ReturnType<typeof startIngest>>;
interface Operation { security?: Record<string, string[]>[]; tags?: string[] }

describe('the console behind its session', () => {
  const prefix = uniquePrefix('console-pages');
  const redis = new IORedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
  const pool = createAuditPool(process.env.DATABASE_URL!);
  let ingest: Ingest;
  let url: string;
  let cookie: string;
  /** Each request from an address of its own: the credential throttle counts failures per address. */
  let address = 0;
  const from = () => ({ 'X-Forwarded-For': `198.51.100.${(address++ % 250) + 1}` });

  beforeAll(async () => {
    ingest = await startIngest(loadConfig({ ...process.env, KEY_PREFIX: prefix, INGEST_PORT: '0', ADMIN_TOKEN: TOKEN, TRUST_PROXY: '1' }), createLogger('ingest', 'error'));
    url = `http://127.0.0.1:${ingest.port}`;
    const login = await request(url).post('/admin/login').type('form').send(`token=${TOKEN}`);
    expect(login.status).toBe(303);
    cookie = (login.headers['set-cookie'] as unknown as string[])[0].split(';')[0];
  });

  afterAll(async () => {
    await ingest.stop();
    await pool.query('DELETE FROM admin_actions WHERE deployment = $1', [prefix]).catch(() => undefined);
    await pool.end();
    redis.disconnect();
    await deletePrefixKeys(prefix);
  });

  it('answers every page without a session with the login form, under a policy that allows no script', async () => {
    const page = await request(url).get('/admin').set(from());
    expect(page.status).toBe(200);
    expect(page.text).toContain('name="token"');
    expect(page.text).not.toContain('<script');
    const policy = page.headers['content-security-policy'];
    expect(policy).toMatch(/default-src 'none'/);
    expect(policy).not.toMatch(/unsafe-inline|script-src/);
    const board = await request(url).get('/admin/queues').set(from());
    expect(board.status).toBe(302);
    expect(board.headers.location).toBe('/admin');
  });

  it.each(['/admin/assets/app.js', '/admin/assets/console.css', '/admin/assets/console.html', '/admin/assets/vendor/uPlot.esm.js', '/admin/assets/nothing.js'])(
    'refuses the console file %s without a session (401, no content)',
    async (path) => {
      const res = await request(url).get(path).set(from());
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('unauthorized');
      expect(res.text).not.toContain('import');
    },
  );

  it('refuses every API route that needs credentials (as /openapi.json lists them) without any, or with wrong ones, with 401', async () => {
    const doc = (await request(url).get('/openapi.json')).body as { paths: Record<string, Record<string, Operation>> };
    const guarded = Object.entries(doc.paths).flatMap(([path, operations]) => Object.entries(operations)
      // An empty alternative ({}) means the credential is optional (the webhook without WEBHOOK_SECRET).
      .filter(([, operation]) => operation.security?.length && !operation.security.some((alternative) => Object.keys(alternative).length === 0))
      // The console's pages, its sign-in and sign-out forms and its files (tagged console) are tested
      // above: a page answers a stranger with the login form, not 401.
      .filter(([, operation]) => !operation.tags?.includes('console'))
      .map(([method, operation]) => ({ method, path: path.replace(/\{id\}/g, UUID).replace(/\{ticker\}/g, 'AAPL'), schemes: operation.security!.flatMap(Object.keys) })));
    // The console's own routes are among them.
    for (const path of ['/admin/delivery/pause', '/admin/delivery/resume', '/admin/delivery/cap-use', '/admin/screener/refresh', '/admin/stats/signals', '/admin/events', '/signals', '/sell/individual', '/finviz/config']) {
      expect(guarded.map((r) => r.path)).toContain(path);
    }
    const session = cookie.split('=')[0];
    const strangers: Record<string, string>[] = [
      {}, { Authorization: 'Bearer not-the-admin-token' }, { Authorization: `Bearer ${TOKEN}x` }, { Authorization: TOKEN }, { Cookie: `${session}=not-a-session` },
    ];
    for (const route of guarded) {
      for (const credentials of strangers) {
        const call = request(url)[route.method as 'get' | 'post' | 'put' | 'delete'](route.path).set(from()).set(credentials);
        const res = await (route.method === 'get' || route.method === 'delete' ? call : call.send({}));
        const sent = { route: `${route.method} ${route.path}`, credentials: JSON.stringify(credentials) };
        expect({ ...sent, status: res.status }).toEqual({ ...sent, status: 401 });
      }
      // The console's session is one of the credentials each accepts: the browser can use every one.
      expect(route.schemes).toContain('adminSession');
    }
  });

  it('serves the console with a session: its page and files under a strict policy, the chart library from its package', async () => {
    const page = await request(url).get('/admin').set('Cookie', cookie);
    expect(page.text).toContain('<script type="module" src="/admin/assets/app.js">');
    expect(page.text).not.toMatch(/<script>|<script type="module">|\son[a-z]+="/);
    const policy = page.headers['content-security-policy'];
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    const app = await request(url).get('/admin/assets/app.js').set('Cookie', cookie);
    expect(app.status).toBe(200);
    expect(app.headers['content-type']).toMatch(/javascript/);
    expect(app.headers['content-security-policy']).toBe(policy);
    const chart = await request(url).get('/admin/assets/vendor/uPlot.esm.js').set('Cookie', cookie);
    expect(chart.status).toBe(200);
    expect(chart.text).toContain('export { uPlot as default }');
    // Nothing outside the console's folder, however the path is spelled.
    for (const path of ['/admin/assets/../src/routes.ts', '/admin/assets/%2e%2e/package.json', '/admin/assets/vendor/../../package.json', '/admin/assets/.env']) {
      const res = await request(url).get(path).set('Cookie', cookie);
      expect(res.status).not.toBe(200);
    }
  });

  describe('the routes the console acts through, with its session', () => {
    const queue = () => new Queue(QUEUE.forward, { connection: redis, prefix });
    const post = (path: string, origin: string | null = url) => {
      const req = request(url).post(path).set('Cookie', cookie);
      return origin ? req.set('Origin', origin) : req;
    };

    it('pauses and resumes delivery for every forwarder, each change in the admin-action log', async () => {
      const forward = queue();
      try {
        const paused = await post('/admin/delivery/pause');
        expect(paused.status).toBe(200);
        expect(paused.body).toEqual({ paused: true });
        expect(await forward.isPaused()).toBe(true);
        expect((await request(url).get('/status')).body.delivery_paused).toBe(true);
        const resumed = await post('/admin/delivery/resume').send('ignored');
        expect(resumed.body).toEqual({ paused: false });
        expect(await forward.isPaused()).toBe(false);
      } finally {
        await forward.close();
      }
      const log = await request(url).get('/admin/actions?limit=10').set('Cookie', cookie);
      const rows = (log.body.items as { action: string; token_kind: string; before: unknown; after: unknown; outcome: string }[]).filter((row) => row.action.startsWith('delivery.'));
      expect(rows.map((row) => [row.action, row.token_kind, row.outcome])).toEqual([['delivery.resume', 'admin_session', 'done'], ['delivery.pause', 'admin_session', 'done']]);
      expect(rows[1]).toMatchObject({ before: { paused: false }, after: { paused: true } });
    });

    it('refuses a delivery pause another site sends with the cookie, and changes nothing', async () => {
      const forward = queue();
      try {
        for (const origin of ['https://evil.example', 'null', null]) {
          const res = await post('/admin/delivery/pause', origin);
          expect(res.status).toBe(403);
        }
        expect(await forward.isPaused()).toBe(false);
      } finally {
        await forward.close();
      }
    });

    it('lets the session read and change the Finviz config, and exit a ticker, from this origin only', async () => {
      expect((await request(url).get('/finviz/config').set('Cookie', cookie)).status).toBe(200);
      const invalid = await post('/finviz/config').send({ top_n: 0 });
      expect(invalid.status).toBe(400);
      expect(invalid.body.details[0].field).toBe('top_n');
      expect((await post('/finviz/config', 'https://evil.example').send({ top_n: 7 })).status).toBe(403);
      const changed = await post('/finviz/config').send({ top_n: 7 });
      expect(changed.status).toBe(200);
      expect(changed.body.top_n).toBe(7);
      expect(changed.body.updated_by).toBe('admin_session');

      expect((await post('/sell/individual', 'https://evil.example').send({ ticker: 'AAPL' })).status).toBe(403);
      const exit = await post('/sell/individual').send({ ticker: 'nasdaq:aapl' });
      expect(exit.status).toBe(202);
      expect(exit.body.tickers).toEqual(['AAPL']);
      // A wrong token in the body is still wrong without a session, and the token alone still works.
      expect((await request(url).post('/sell/individual').set(from()).send({ ticker: 'AAPL', token: 'guess' })).status).toBe(401);
      expect((await request(url).post('/sell/individual').send({ ticker: 'AAPL', token: TOKEN })).status).toBe(202);
    });
  });
});

describe('GET /admin/stats/signals, the charts\' history', () => {
  const prefix = uniquePrefix('console-stats');
  const pool = createAuditPool(process.env.DATABASE_URL!);
  let ingest: Ingest;
  let url: string;
  /**
   * A minute long enough ago, and empty: rows of an earlier run sharing this database (or without a
   * deployment, which every deployment sees) would count in it. Chosen in beforeAll.
   */
  let minute: Date;
  const stats = (query: string) => request(url).get(`/admin/stats/signals${query}`).set('Authorization', `Bearer ${TOKEN}`);

  beforeAll(async () => {
    const now = Math.floor(Date.now() / 60_000) * 60_000;
    for (let back = 150; back < 175; back++) {
      const candidate = new Date(now - back * 60_000);
      const { rows } = await pool.query('SELECT count(*)::int AS n FROM signals WHERE received_at >= $1 AND received_at < $1::timestamptz + interval \'1 minute\'', [candidate]);
      if (rows[0].n === 0) { minute = candidate; break; }
    }
    if (!minute!) throw new Error('no empty minute 150–175 minutes ago in the test database');
    // 12 signals received in that minute: 10 delivered (latencies 10…100 ms), 1 rejected, 1 dead.
    await pool.query(`
      INSERT INTO signals (id, kind, ticker, side, action, "time", received_at, status, reason, body, updated_at, deployment)
      SELECT gen_random_uuid(), 'source', 'STAT', 'BUY', 'buy', $2::timestamptz, $2::timestamptz + g * interval '1 second',
             CASE WHEN g <= 10 THEN 'forwarded' WHEN g = 11 THEN 'rejected' ELSE 'dead' END,
             CASE WHEN g = 11 THEN 'not_in_topn' WHEN g = 12 THEN 'permanent_error' END, jsonb_build_object('g', g), now(), $1
      FROM generate_series(1, 12) g`, [prefix, minute]);
    await pool.query(`
      INSERT INTO deliveries (signal_id, attempt, at, http_status, latency_ms)
      SELECT id, 1, received_at + interval '1 second', 200, ((body->>'g')::int) * 10 FROM signals WHERE deployment = $1 AND status = 'forwarded'`, [prefix]);
    ingest = await startIngest(loadConfig({ ...process.env, KEY_PREFIX: prefix, INGEST_PORT: '0', ADMIN_TOKEN: TOKEN }), createLogger('ingest', 'error'));
    url = `http://127.0.0.1:${ingest.port}`;
  });

  afterAll(async () => {
    await ingest.stop();
    await pool.query('DELETE FROM signals WHERE deployment = $1', [prefix]);
    await pool.end();
    await deletePrefixKeys(prefix);
  });

  it('counts the signals of each minute by outcome, and the attempts with their latency p50 and p99', async () => {
    const res = await stats('?minutes=180');
    expect(res.status).toBe(200);
    expect(res.body.bucket_sec).toBe(60);
    const ours = (res.body.minutes as { at: string }[]).find((m) => m.at === minute.toISOString());
    expect(ours).toEqual({ at: minute.toISOString(), outcomes: { forwarded: 10, rejected: 1, dead: 1 }, attempts: 10, latency_p50_ms: 55, latency_p99_ms: 99 });
    const ats = (res.body.minutes as { at: string }[]).map((m) => m.at);
    expect([...ats].sort()).toEqual(ats);
  });

  it('leaves out what is older than the minutes asked for', async () => {
    const res = await stats('?minutes=60');
    expect(res.status).toBe(200);
    expect((res.body.minutes as { at: string }[]).some((m) => m.at === minute.toISOString())).toBe(false);
    expect(Date.parse(res.body.to) - Date.parse(res.body.from)).toBe(61 * 60_000);
  });

  it.each([
    ['zero', '?minutes=0'], ['more than a day', '?minutes=1441'], ['a fraction', '?minutes=1.5'], ['a word', '?minutes=hour'],
    ['negative', '?minutes=-5'], ['full-width digits', `?minutes=${encodeURIComponent('６０')}`], ['a control character', '?minutes=6%000'],
    ['given twice', '?minutes=5&minutes=10'], ['an exponent', '?minutes=1e9'], ['empty', '?minutes='],
  ])('refuses %s with 400 naming minutes', async (_label, query) => {
    const res = await stats(query);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_query');
    expect(res.body.details[0].field).toBe('minutes');
  });

  it('refuses a request without credentials, or with a wrong token', async () => {
    expect((await request(url).get('/admin/stats/signals')).status).toBe(401);
    expect((await request(url).get('/admin/stats/signals').set('Authorization', 'Bearer wrong')).status).toBe(401);
  });
});

// `pnpm demo`: the whole flow offline. A local stand-in for Finviz serves a saved screener page,
// a local destination prints what it receives, the four services run, and a few sample signals
// show what is approved, rejected and delivered.
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const { spawn, spawnSync } = require('node:child_process');
const { ROOT, SERVICES, loadEnv } = require('./load-env');

const PAGE_FILE = path.join(ROOT, 'fixtures/finviz/finviz-screener-v111-2026.html');
const TOP_N = 5;
const ADMIN_TOKEN = 'demo-admin';
// Ingest starts only with a webhook secret (or an allow-list): the demo's alerts carry this one.
const WEBHOOK_SECRET = 'demo-webhook-secret';
const PORTS = { ingest: 18080, screener: 18081, approver: 18082, forwarder: 18083 };
const INGEST = `http://127.0.0.1:${PORTS.ingest}`;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const say = (line = '') => process.stdout.write(`${line}\n`);

function ensureBuilt() {
  const missing = SERVICES.some((name) => !fs.existsSync(path.join(ROOT, 'services', name, 'dist', 'main.js')));
  if (!missing) return;
  say('Building (first run)...');
  const build = spawnSync('pnpm', ['build'], { cwd: ROOT, stdio: 'inherit' });
  if (build.status !== 0) process.exit(1);
}

/**
 * The demo writes to a database of its own (`tsp_demo` on the same server, or DEMO_DATABASE_URL),
 * never to the relay's audit trail: its sample trades and positions must not mix with real ones.
 */
function demoDatabaseUrl() {
  if (process.env.DEMO_DATABASE_URL) return process.env.DEMO_DATABASE_URL;
  const url = new URL(process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/trading_signals');
  url.pathname = '/tsp_demo';
  return url.toString();
}

/** Removes the demo's keys (queues, Top-N, counters) from Redis. */
async function forgetRedisKeys(redisUrl, prefix) {
  const IORedis = require(path.join(ROOT, 'services/ingest/node_modules/ioredis')).default;
  const redis = new IORedis(redisUrl || 'redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } catch {
    // Nothing to clean if Redis is gone; the keys are under a prefix of their own anyway.
  } finally {
    redis.disconnect();
  }
}

function migrate(env) {
  const result = spawnSync(process.execPath, [path.join(ROOT, 'packages/db/scripts/migrate.js')], { env, encoding: 'utf8' });
  if (result.status !== 0) {
    say(result.stdout + result.stderr);
    say('The demo needs Postgres (DATABASE_URL); see the README.');
    process.exit(1);
  }
}

function listen(handler) {
  return new Promise((resolve) => {
    const server = http.createServer(handler);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

function readBody(req) {
  return new Promise((resolve) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

async function api(method, route, body, headers = {}) {
  const res = await fetch(`${INGEST}${route}`, {
    method,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}`, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** POST /webhook/in as an alert would, with the demo's secret (header X-Webhook-Secret). */
function postSignal(body, headers = {}) {
  return api('POST', '/webhook/in', body, { 'x-webhook-secret': WEBHOOK_SECRET, ...headers });
}

async function waitUntil(check, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check().catch(() => null);
    if (value) return value;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function main() {
  loadEnv();
  ensureBuilt();
  const page = fs.readFileSync(PAGE_FILE, 'utf8');
  const finviz = await listen((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(page);
  });
  const delivered = [];
  const destination = await listen(async (req, res) => {
    const body = await readBody(req);
    delivered.push(req.headers['idempotency-key']);
    say(`  destination <- POST ${req.url}  Idempotency-Key: ${req.headers['idempotency-key']}  ${body}`);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });

  const prefix = `tsp-demo-${Date.now().toString(36)}`;
  const env = {
    ...process.env,
    KEY_PREFIX: prefix,
    DATABASE_URL: demoDatabaseUrl(),
    INGEST_PORT: String(PORTS.ingest), SCREENER_PORT: String(PORTS.screener), APPROVER_PORT: String(PORTS.approver), FORWARDER_PORT: String(PORTS.forwarder),
    FINVIZ_URL: `http://127.0.0.1:${finviz.address().port}/screener?v=111&f=ta_gap_u5&o=-change`,
    FINVIZ_REFRESH_SEC: '5',
    TOP_N: String(TOP_N),
    DEST_WEBHOOK_URL: `http://127.0.0.1:${destination.address().port}/traderspost`,
    ADMIN_TOKEN,
    WEBHOOK_SECRET,
    WEBHOOK_ALLOWED_IPS: '',
    LOG_LEVEL: 'warn',
  };
  migrate(env);

  const children = SERVICES.map((name) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'services', name, 'dist', 'main.js')], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (chunk) => process.stderr.write(`[${name}] ${chunk}`));
    return child;
  });
  const stop = async () => {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', resolve)))));
    finviz.close();
    destination.close();
    await forgetRedisKeys(env.REDIS_URL, prefix);
  };

  try {
    say(`Stand-in Finviz serves ${path.basename(PAGE_FILE)}; the services run on ports ${Object.values(PORTS).join(', ')}.`);
    const topn = await waitUntil(async () => {
      const res = await api('GET', '/finviz/topn');
      return res.status === 200 ? res.body : null;
    }, 'the screener to publish the Top-N');
    say(`\nTop-${TOP_N} published by the screener: ${topn.tickers.join(', ')} (snapshot ${topn.snapshot_id.slice(0, 8)})`);
    const [first] = topn.tickers;

    const samples = [
      ['BUY of the #1 ticker', { ticker: `NASDAQ:${first}`, action: 'buy', price: 4.2, strategy: 'gap-up' }],
      ['BUY of a ticker outside the Top-N', { ticker: 'AAPL', side: 'buy', price: 190.1 }],
      ['SELL with no open position', { ticker: 'MSFT', side: 'sell' }],
      ['invalid: no side', { ticker: first }],
    ];
    say('\nSending sample signals to POST /webhook/in:');
    const ids = [];
    for (const [label, body] of samples) {
      const res = await postSignal(body);
      say(`  ${label.padEnd(36)} -> ${res.status} ${JSON.stringify(res.body)}`);
      if (res.status === 202) ids.push([label, res.body.id]);
    }
    const repeat = await postSignal(samples[0][1], { 'idempotency-key': 'demo-1' });
    const again = await postSignal(samples[0][1], { 'idempotency-key': 'demo-1' });
    say(`  ${'same Idempotency-Key twice'.padEnd(36)} -> ${repeat.status}, then ${again.status} ${JSON.stringify(again.body)}`);
    ids.push(['BUY again (idempotency key demo-1)', repeat.body.id]);

    // Once the BUY is delivered tsp holds a position, so a SELL of it passes whatever the Top-N.
    await waitUntil(async () => (await api('GET', `/signals/${ids[0][1]}`)).body.status === 'forwarded', 'the first delivery');
    const sell = await postSignal({ ticker: first, action: 'sell', price: 4.6 });
    say(`  ${'SELL of the ticker just bought'.padEnd(36)} -> ${sell.status} ${JSON.stringify(sell.body)}`);
    ids.push(['SELL of the ticker just bought', sell.body.id]);

    say('\nWhat became of each signal (GET /signals/:id):');
    for (const [label, id] of ids) {
      const view = await waitUntil(async () => {
        const res = await api('GET', `/signals/${id}`);
        return res.status === 200 && ['forwarded', 'rejected', 'dead'].includes(res.body.status) ? res.body : null;
      }, `the outcome of "${label}"`);
      const why = view.status === 'rejected' ? `reason ${view.reason}` : `basis ${view.basis}${view.rank ? `, rank ${view.rank}` : ''}`;
      say(`  ${label.padEnd(36)} ${view.ticker.padEnd(6)} ${view.side.padEnd(4)} ${view.status.padEnd(9)} ${why}`);
    }
    const status = await api('GET', '/status');
    say(`\nCounters: ${JSON.stringify(status.body.counters)}`);
    say('Demo finished.');
  } finally {
    await stop();
  }
}

main().catch((error) => {
  console.error(`demo failed: ${error.message}`);
  process.exit(1);
});

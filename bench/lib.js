// Shared plumbing of the benchmarks: services as child processes, a bench database, Redis
// clean-up, a local destination, percentiles. Plain CommonJS over the built dist (`pnpm build`).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const net = require('node:net');
const { fork, spawn, spawnSync } = require('node:child_process');
const { randomUUID } = require('node:crypto');
const { performance } = require('node:perf_hooks');
const { applyServicePriority } = require('../scripts/cpu-priority');

const ROOT = path.resolve(__dirname, '..');

/** pnpm keeps dependencies per package: resolve them from the package that owns them. */
function requireFrom(dir, name) {
  return require(require.resolve(name, { paths: [path.join(ROOT, dir)] }));
}

const SERVICES = ['ingest', 'approver', 'forwarder'];
for (const name of SERVICES) {
  if (!fs.existsSync(path.join(ROOT, 'services', name, 'dist', 'main.js'))) {
    console.error(`services/${name} is not built: run "pnpm build" first`);
    process.exit(1);
  }
}

const core = require('../packages/core/dist');
const { Queue } = requireFrom('services/ingest', 'bullmq');
const IORedis = requireFrom('services/ingest', 'ioredis');
const { Client: PgClient } = requireFrom('packages/db', 'pg');

const REDIS_URL = process.env.BENCH_REDIS_URL || process.env.REDIS_URL || 'redis://127.0.0.1:6379';
// A database of its own: the approver writes a row per signal and the forwarder opens
// positions, which must not leak into the tests' tsp_test (they list signals and positions).
const DATABASE_URL = process.env.BENCH_DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/tsp_bench';

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes. */
const nowMs = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function uniquePrefix(label) {
  return `bench-${label}-${randomUUID().slice(0, 8)}`;
}

/** Migrates the bench database only when it lacks a migration: Prisma's CLI idles ~10 s after a migrate. */
async function ensureBenchDatabase() {
  const wanted = fs.readdirSync(path.join(ROOT, 'prisma/migrations'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  const client = new PgClient({ connectionString: DATABASE_URL });
  let ready = false;
  try {
    await client.connect();
    const { rows } = await client.query('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL');
    const applied = new Set(rows.map((r) => r.migration_name));
    ready = wanted.every((name) => applied.has(name));
  } catch {
    ready = false; // the database (or its migration table) does not exist yet: migrate.js creates it
  } finally {
    await client.end().catch(() => undefined);
  }
  if (ready) return;
  console.log(`migrating the bench database ${new URL(DATABASE_URL).pathname.slice(1)} (once)…`);
  const run = spawnSync(process.execPath, [path.join(ROOT, 'packages/db/scripts/migrate.js')], {
    env: { ...process.env, DATABASE_URL }, encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`migrating ${DATABASE_URL} failed:\n${run.stdout}\n${run.stderr}`);
}

/** Deletes the audit rows of this run's signals (deliveries cascade). */
async function deleteSignalRows(ids) {
  if (ids.length === 0) return;
  const client = new PgClient({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query('DELETE FROM signals WHERE id = ANY($1::uuid[])', [ids]);
  } finally {
    await client.end();
  }
}

async function queryDb(sql, params) {
  const client = new PgClient({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function getJson(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode, body: body ? JSON.parse(body) : null, text: body });
        } catch {
          resolve({ status: res.statusCode, body: null, text: body });
        }
      });
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error(`GET ${url} timed out`)));
  });
}

/** Base environment of a service started by a bench: its own prefix, the bench database. */
function serviceEnv(prefix, extra = {}) {
  return {
    ...process.env,
    REDIS_URL,
    DATABASE_URL,
    KEY_PREFIX: prefix,
    // The load generators post without a secret, from this machine: the bench's ingest opts out of
    // webhook authentication explicitly (a secret check is one constant-time compare per signal).
    WEBHOOK_SECRET: '',
    WEBHOOK_ALLOWED_IPS: '',
    WEBHOOK_AUTH: 'none',
    // info is what production runs; logs go to a file so the bench process does not pay for them.
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'info',
    ...extra,
  };
}

/**
 * Starts `services/<name>/dist/main.js` as a child process — its own event loop, as in production,
 * so the load generator and the service do not share one thread — and waits for GET /health.
 */
/**
 * Services a bench started and that still run. A bench stopped by Ctrl-C or a timeout must not
 * leave them polling Redis: they would skew every later measurement on the machine.
 */
const liveChildren = new Set();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    for (const child of liveChildren) child.kill('SIGKILL');
    process.exit(130);
  });
}
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

async function startService(name, env) {
  const port = await freePort();
  const portVar = `${name.toUpperCase()}_PORT`;
  const logFile = path.join(os.tmpdir(), `${env.KEY_PREFIX}-${name}.log`);
  const out = fs.openSync(logFile, 'w');
  // BENCH_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile the services under load.
  const nodeArgs = (process.env.BENCH_NODE_ARGS || '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'services', name, 'dist', 'main.js')], {
    env: { ...env, [portVar]: String(port) },
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  // As under `pnpm start`; BENCH_SAME_PRIORITY=1 runs every service at the default priority instead.
  if (process.env.BENCH_SAME_PRIORITY !== '1') applyServicePriority(name, child.pid);
  let exited = null;
  const exit = new Promise((resolve) => child.once('exit', (code, signal) => { exited = { code, signal }; resolve(exited); }));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (exited) throw new Error(`${name} exited at start (${JSON.stringify(exited)}); log: ${logFile}\n${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
    const health = await getJson(`${url}/health`).catch(() => null);
    if (health?.status === 200) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not answer /health within 30 s; log: ${logFile}`);
    }
    await sleep(100);
  }
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  return {
    name, port, url, logFile, child,
    /** SIGTERM, as an orchestrator stops it; SIGKILL if it overruns the contract's 10 s. */
    async stop() {
      if (exited) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
      const result = await exit;
      clearTimeout(timer);
      return result;
    },
  };
}

/** Starts bench/echo-server.js (bare express echoing a JSON body with 202), the benches' baseline, as a child process. */
function startEcho() {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(__dirname, 'echo-server.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`echo server exited (${code})`)));
    child.once('message', ({ port }) => resolve({
      url: `http://127.0.0.1:${port}`,
      pid: child.pid,
      stop: () => new Promise((done) => { child.removeAllListeners('exit'); child.once('exit', done); child.kill('SIGTERM'); }),
    }));
  });
}

/** Starts the named services side by side; stop() stops them in reverse order. */
async function startServices(names, env) {
  const started = await Promise.allSettled(names.map((name) => startService(name, env)));
  const running = started.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  const stop = async () => {
    for (const service of [...running].reverse()) await service.stop();
  };
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { ...Object.fromEntries(running.map((s) => [s.name, s])), stop };
}

/**
 * CPU seconds (user + system) a process has used so far, from /proc (Linux; null elsewhere).
 * Says which service a saturated pipeline spends its cores in.
 */
function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
  } catch {
    return null;
  }
}

/** Obliterates the bench's queues and deletes every key of its prefix (and its limiter's). */
async function cleanupPrefix(prefix) {
  const redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
  try {
    for (const name of Object.values(core.QUEUE)) {
      const queue = new Queue(name, { connection: redis, prefix });
      await queue.obliterate({ force: true }).catch((error) => console.warn(`obliterate ${name}: ${error.message}`));
      await queue.close();
    }
    // `<prefix>:…` for queues and keys; Bottleneck names its keys b_<limiter id>_…
    let deleted = 0;
    for (const pattern of [`${prefix}:*`, `${prefix}-*`, `b_${core.redisKeys(prefix).limiterId}_*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length) deleted += await redis.del(...keys);
      } while (cursor !== '0');
    }
    return deleted;
  } finally {
    redis.disconnect();
  }
}

/** Total jobs of a queue in any state. */
async function countJobs(prefix, name) {
  const redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection: redis, prefix });
  try {
    const counts = await queue.getJobCounts();
    return { total: Object.values(counts).reduce((a, b) => a + b, 0), counts };
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

/** Publishes a Top-N set exactly as the screener does: SET `<prefix>:topn`, PUBLISH `<prefix>:topn:updated`. */
async function publishTopn(redis, prefix, tickers, { snapshotId = randomUUID(), topN = tickers.length } = {}) {
  const keys = core.redisKeys(prefix);
  const set = core.TopnSetSchema.parse({ tickers, top_n: topN, fetched_at: new Date().toISOString(), snapshot_id: snapshotId, source: 'bench' });
  const at = nowMs();
  const results = await redis.multi().set(keys.topn, JSON.stringify(set)).publish(keys.topnUpdated, set.snapshot_id).exec();
  const failed = results?.find(([error]) => error);
  if (!results || failed) throw new Error(`publishing the Top-N failed: ${failed?.[0]?.message ?? 'aborted'}`);
  return { set, at };
}

/** A destination that answers 200 at once and records when each request arrived (by Idempotency-Key). */
async function startDestination() {
  const arrivals = []; // { id, at }
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    // Arrival = the request's headers are in: the forwarder's request has reached the destination.
    const at = nowMs();
    arrivals.push({ id: req.headers['idempotency-key'], at });
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  server.on('connection', (socket) => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)); });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/hook`,
    arrivals,
    close: () => new Promise((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  };
}

/** POSTs a JSON body; resolves { status, body, sentAt, answeredAt }. */
function postJson(url, body, agent) {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const sentAt = nowMs();
    const req = http.request(url, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { text += chunk; });
      res.on('end', () => {
        let parsed = null;
        try { parsed = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, body: parsed, sentAt, answeredAt: nowMs() });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** The sum of a Prometheus counter's series (every label set) in a /metrics text; 0 when absent. */
function parseCounter(text, name) {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line === name || line.startsWith(`${name} `) || line.startsWith(`${name}{`)) total += Number(line.split(' ').pop());
  }
  return total;
}

/** Parses one Prometheus histogram (cumulative buckets) out of a /metrics text. */
function parseHistogram(text, name) {
  const buckets = [];
  let count = 0;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}_bucket{`)) {
      const le = /le="([^"]+)"/.exec(line)[1];
      buckets.push({ le: le === '+Inf' ? Infinity : Number(le), count: Number(line.split(' ').pop()) });
    } else if (line.startsWith(`${name}_count`)) count = Number(line.split(' ').pop());
    else if (line.startsWith(`${name}_sum`)) sum = Number(line.split(' ').pop());
  }
  return { buckets, count, sum };
}

/** after − before, bucket by bucket: the observations made in between. */
function histogramDelta(after, before) {
  return {
    buckets: after.buckets.map((b, i) => ({ le: b.le, count: b.count - (before.buckets[i]?.count ?? 0) })),
    count: after.count - before.count,
    sum: after.sum - before.sum,
  };
}

/** Like PromQL histogram_quantile: linear interpolation inside the bucket that holds the quantile. */
function histogramQuantile(histogram, q) {
  const { buckets, count } = histogram;
  if (count === 0) return NaN;
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const bucket of buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return lower;
      return lower + ((bucket.le - lower) * (rank - below)) / Math.max(1, bucket.count - below);
    }
    lower = bucket.le;
    below = bucket.count;
  }
  return lower;
}

const fmt = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : String(value));
const verdict = (ok) => (ok ? 'PASS' : 'MISS');

/** Prints rows (arrays) as an aligned table. */
function printTable(header, rows) {
  const all = [header, ...rows].map((row) => row.map(String));
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  const line = (row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  console.log(line(all[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of all.slice(1)) console.log(line(row));
}

/**
 * A relay for one measurement: a prefix of its own, a Top-N of `tickers` kept fresh as a screener
 * would (same snapshot, new fetched_at every 5 s), ingest, approver and forwarder, a destination.
 * run({ prefix, destination, services, ids, redis }) does the measuring; the ids it pushes are the
 * signal rows deleted afterwards.
 */
async function withRelay(label, tickers, env, run) {
  const prefix = uniquePrefix(label);
  const destination = await startDestination();
  const redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
  const snapshotId = randomUUID();
  await publishTopn(redis, prefix, tickers, { snapshotId });
  const refresher = setInterval(() => void publishTopn(redis, prefix, tickers, { snapshotId }).catch(() => undefined), 5000);
  const ids = [];
  let services = null;
  try {
    services = await startServices(['approver', 'forwarder', 'ingest'], serviceEnv(prefix, {
      DEST_WEBHOOK_URL: destination.url, QUEUE_MAX_SIZE: String(1e6), ...env,
    }));
    return await run({ prefix, destination, services, ids, redis });
  } finally {
    clearInterval(refresher);
    await services?.stop();
    await destination.close();
    redis.disconnect();
    await cleanupPrefix(prefix);
    await deleteSignalRows(ids).catch((error) => console.warn(`could not delete the bench's signal rows: ${error.message}`));
  }
}

/**
 * Redis's own CPU seconds, its command calls so far (in all and per command), and the reads it has
 * processed (each a wake-up for a batch of commands from one client) — INFO cpu, commandstats, stats.
 */
async function redisUsage(redis) {
  const [cpu, commands, stats] = await Promise.all([redis.info('cpu'), redis.info('commandstats'), redis.info('stats')]);
  const field = (text, name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? NaN);
  const byCommand = Object.fromEntries([...commands.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1], Number(m[2])]));
  const calls = Object.values(byCommand).reduce((sum, n) => sum + n, 0);
  return { cpu: field(cpu, 'used_cpu_sys') + field(cpu, 'used_cpu_user'), calls, byCommand, reads: field(stats, 'total_reads_processed') };
}

/** Runs main; any failure is printed and exits 1 (a missed target is not a failure). */
function runBench(main) {
  main().then(
    () => process.exit(0),
    (error) => {
      console.error(`benchmark failed: ${error.stack ?? error}`);
      process.exit(1);
    },
  );
}

module.exports = {
  ROOT, REDIS_URL, DATABASE_URL, core, Queue, IORedis, requireFrom,
  nowMs, sleep, uniquePrefix, ensureBenchDatabase, deleteSignalRows, queryDb, freePort, getJson,
  serviceEnv, startService, startServices, startEcho, cpuSeconds, cleanupPrefix, countJobs, publishTopn, startDestination, postJson,
  percentile, parseCounter, parseHistogram, redisUsage, histogramDelta, histogramQuantile, fmt, verdict, printTable, runBench, withRelay,
};

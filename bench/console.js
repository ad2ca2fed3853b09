// `pnpm bench:console`: the console's searches over 1,000,000 signals in Postgres, through the real
// GET /signals route of a running ingest (a child process).
//
// Seeds the rows in the bench database with INSERT … SELECT generate_series (about 3,000 tickers,
// a few of them busy, a year of time, 10 % rejected with reasons, some dead, some manual exits, a
// delivery row per delivered signal), under a deployment (KEY_PREFIX) of the bench's own, then asks
// each query shape many times and prints p50/p99 against the targets, and the plan Postgres chose
// for it (the SQL the search really sends, captured on its way to pg, under EXPLAIN ANALYZE). Deletes
// its rows at the end.
//
// BENCH_CONSOLE_ROWS (1,000,000), BENCH_CONSOLE_RUNS (200 a shape). BENCH_CONSOLE_KEEP=1 keeps the
// rows and prints the deployment; BENCH_CONSOLE_DEPLOYMENT=<it> measures those rows again without
// seeding.
const http = require('node:http');
const {
  DATABASE_URL, ensureBenchDatabase, fmt, percentile, printTable, queryDb, runBench, serviceEnv, startService,
  uniquePrefix, verdict, cleanupPrefix,
} = require('./lib');

const ROWS = Number(process.env.BENCH_CONSOLE_ROWS || 1_000_000);
const RUNS = Number(process.env.BENCH_CONSOLE_RUNS || 200);
const WARMUP = 20;
const TICKERS = 3000;
const ADMIN = 'bench-console-admin-token-0123456789';
const SEARCH_TARGET_MS = 100;
const PAGE_TARGET_MS = 300;
const DAY_MS = 86_400_000;

/** Ticker number n (0..2999) as a symbol: T0000 … T2999. */
const tickerOf = (n) => `T${String(n).padStart(4, '0')}`;

/**
 * One statement per chunk, so progress shows and no transaction holds a million rows. The ticker
 * is skewed (random()^2: a few hundred tickers get most signals, as on a real watch list); statuses
 * follow a relay's day: 10 % rejected, ~1.5 % dead, a few still retrying or approved, the rest
 * forwarded.
 */
async function seed(deployment) {
  const CHUNK = 250_000;
  const started = Date.now();
  for (let done = 0; done < ROWS; done += CHUNK) {
    const n = Math.min(CHUNK, ROWS - done);
    await queryDb(`
      INSERT INTO signals (id, kind, ticker, side, action, price, "time", received_at, status, reason, basis, rank, snapshot_id,
                           body, received_body, decided_at, updated_at, deployment)
      SELECT id, kind, ticker, side, lower(side), price, at, at, status, reason,
             CASE WHEN status IN ('rejected') THEN NULL WHEN kind = 'manual' THEN 'manual' WHEN side = 'SELL' THEN 'open_position' ELSE 'topn' END,
             CASE WHEN status = 'rejected' THEN NULL ELSE 1 + (r * 15)::int END, NULL,
             jsonb_build_object('ticker', ticker, 'side', side, 'action', lower(side), 'price', price, 'time', at),
             CASE WHEN kind = 'source' THEN jsonb_build_object('ticker', 'NASDAQ:' || ticker, 'action', lower(side), 'price', price::text, 'time', extract(epoch FROM at)::bigint) END,
             at, at, $1
      FROM (
        SELECT gen_random_uuid() AS id, r,
               CASE WHEN r < 0.01 THEN 'manual' ELSE 'source' END AS kind,
               'T' || lpad(floor(${TICKERS} * random() ^ 2)::int::text, 4, '0') AS ticker,
               CASE WHEN random() < 0.6 THEN 'BUY' ELSE 'SELL' END AS side,
               round((1 + random() * 500)::numeric, 2)::float8 AS price,
               now() - random() * interval '365 days' AS at,
               CASE WHEN r < 0.10 THEN 'rejected' WHEN r < 0.115 THEN 'dead' WHEN r < 0.117 THEN 'retrying' WHEN r < 0.118 THEN 'approved' ELSE 'forwarded' END AS status,
               CASE WHEN r < 0.07 THEN 'not_in_topn' WHEN r < 0.085 THEN 'topn_stale' WHEN r < 0.095 THEN 'no_open_position' WHEN r < 0.099 THEN 'stale' WHEN r < 0.10 THEN 'topn_unavailable'
                    WHEN r < 0.108 THEN 'expired' WHEN r < 0.113 THEN 'attempts_exhausted' WHEN r < 0.115 THEN 'permanent_error' END AS reason
        FROM (SELECT random() AS r FROM generate_series(1, $2::int)) g
      ) s`, [deployment, n]);
    process.stdout.write(`\rseeded ${done + n} of ${ROWS} signals (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  }
  await queryDb(`
    INSERT INTO deliveries (signal_id, attempt, at, http_status, latency_ms, error)
    SELECT id, 1, received_at + interval '300 milliseconds', CASE WHEN status = 'forwarded' THEN 200 ELSE 503 END, 40 + (random() * 200)::int,
           CASE WHEN status = 'forwarded' THEN NULL ELSE 'HTTP 503' END
    FROM signals WHERE deployment = $1 AND status IN ('forwarded', 'dead', 'retrying')`, [deployment]);
  await queryDb('ANALYZE signals');
  await queryDb('ANALYZE deliveries');
  console.log(`\nseeded ${ROWS} signals and their deliveries in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

function getTimed(url, agent) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    http.get(url, { agent, headers: { Authorization: `Bearer ${ADMIN}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        if (res.statusCode !== 200) reject(new Error(`GET ${url}: ${res.statusCode} ${body.slice(0, 300)}`));
        else resolve({ ms, body: JSON.parse(body) });
      });
    }).on('error', reject);
  });
}

const pick = (items) => items[Math.floor(Math.random() * items.length)];
/** A busy ticker (of the first hundred) or any of the 3,000. */
const someTicker = () => tickerOf(Math.random() < 0.5 ? Math.floor(Math.random() * 100) : Math.floor(Math.random() * TICKERS));
/** A window of 1 to 30 days somewhere in the seeded year. */
function someRange() {
  const days = 1 + Math.floor(Math.random() * 30);
  const to = Date.now() - Math.random() * (365 - days) * DAY_MS;
  return { from: new Date(to - days * DAY_MS).toISOString(), to: new Date(to).toISOString() };
}

/** The console's query shapes: the query string of each run, its target, and the search filter it is (for EXPLAIN). */
const SHAPES = [
  {
    name: 'ticker + time range (50)', target: SEARCH_TARGET_MS,
    query: () => { const r = someRange(); const t = someTicker(); return { qs: `ticker=${t}&from=${r.from}&to=${r.to}&limit=50`, filter: { ticker: t, from: new Date(r.from), to: new Date(r.to) } }; },
  },
  {
    name: 'ticker + time range, page 2', target: SEARCH_TARGET_MS, secondPage: true,
    query: () => { const r = someRange(); const t = tickerOf(Math.floor(Math.random() * 50)); return { qs: `ticker=${t}&from=${r.from}&to=${r.to}&limit=50`, filter: { ticker: t, from: new Date(r.from), to: new Date(r.to) } }; },
  },
  { name: 'first page, no filter (50)', target: PAGE_TARGET_MS, query: () => ({ qs: 'limit=50', filter: {} }) },
  {
    name: 'first page, status filter (50)', target: PAGE_TARGET_MS,
    query: () => { const s = pick(['forwarded', 'rejected', 'dead', 'retrying']); return { qs: `status=${s}&limit=50`, filter: { status: s } }; },
  },
  {
    name: 'first page, reason filter (50)', target: PAGE_TARGET_MS,
    query: () => { const r = pick(['not_in_topn', 'topn_stale', 'expired', 'permanent_error']); return { qs: `reason=${r}&limit=50`, filter: { reason: r } }; },
  },
  { name: 'first page, kind=manual (50)', target: PAGE_TARGET_MS, query: () => ({ qs: 'kind=manual&limit=50', filter: { kind: 'manual' } }) },
  {
    name: 'ticker, no time range (50)', target: SEARCH_TARGET_MS,
    query: () => { const t = someTicker(); return { qs: `ticker=${t}&limit=50`, filter: { ticker: t } }; },
  },
];

async function measure(baseUrl, agent, shape) {
  const times = [];
  let rows = 0;
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const { qs } = shape.query();
    let answer = await getTimed(`${baseUrl}/signals?${qs}`, agent);
    if (shape.secondPage) {
      if (!answer.body.next_cursor) { i--; continue; }
      answer = await getTimed(`${baseUrl}/signals?${qs}&cursor=${answer.body.next_cursor}`, agent);
    }
    if (i >= WARMUP) {
      times.push(answer.ms);
      rows += answer.body.items.length;
    }
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 50), p99: percentile(times, 99), max: times[times.length - 1], rows: rows / RUNS };
}

/** The plan of each shape's SQL as the search sends it (captured on its way to pg), in one line: the indexes it scans. */
async function explainShapes(deployment) {
  const db = require('../packages/db/dist');
  const pool = db.createSearchPool(DATABASE_URL);
  let captured = null;
  const capturing = { query: (sql, params) => { captured = { sql, params }; return pool.query(sql, params); } };
  const plans = [];
  try {
    for (const shape of SHAPES) {
      const { filter } = shape.query();
      let page = await db.searchSignals(capturing, deployment, filter, { limit: 50 });
      if (shape.secondPage && page.next) page = await db.searchSignals(capturing, deployment, filter, { limit: 50, cursor: page.next });
      const [row] = (await pool.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${captured.sql}`, captured.params)).rows;
      const plan = row['QUERY PLAN'][0];
      plans.push([shape.name, summarisePlan(plan.Plan), `${fmt(plan['Execution Time'])} ms`]);
    }
  } finally {
    await pool.end();
  }
  return plans;
}

/** The scans and sorts of a plan tree, e.g. "Incremental Sort > Index Scan Backward signals_ticker_received_at_idx" (the per-row deliveries subplan left out). */
function summarisePlan(node) {
  if (node['Parent Relationship'] === 'SubPlan') return '';
  const own = /Scan/.test(node['Node Type']) ? `${node['Node Type']}${node['Scan Direction'] === 'Backward' ? ' Backward' : ''} ${node['Index Name'] ?? node['Relation Name'] ?? ''}`.trim() : '';
  const sort = node['Node Type'].includes('Sort') ? node['Node Type'] : '';
  return [own, sort, ...(node.Plans ?? []).map(summarisePlan)].filter(Boolean).join(' > ');
}

async function main() {
  await ensureBenchDatabase();
  const reuse = process.env.BENCH_CONSOLE_DEPLOYMENT;
  const deployment = reuse || uniquePrefix('console');
  const keep = Boolean(reuse) || process.env.BENCH_CONSOLE_KEEP === '1';
  let ingest = null;
  try {
    if (!reuse) await seed(deployment);
    const [{ n }] = await queryDb('SELECT count(*)::int AS n FROM signals WHERE deployment = $1', [deployment]);
    console.log(`${n} signals of deployment ${deployment}; ${RUNS} runs a shape after ${WARMUP} warm-up runs, one at a time, through GET /signals`);
    ingest = await startService('ingest', serviceEnv(deployment, { ADMIN_TOKEN: ADMIN, LOG_LEVEL: 'warn' }));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const rows = [];
    for (const shape of SHAPES) {
      const r = await measure(ingest.url, agent, shape);
      rows.push([shape.name, fmt(r.rows, 1), fmt(r.p50, 1), fmt(r.p99, 1), fmt(r.max, 1), `≤ ${shape.target}`, verdict(r.p99 <= shape.target)]);
    }
    agent.destroy();
    console.log('');
    printTable(['query shape', 'rows', 'p50 ms', 'p99 ms', 'max ms', 'target p99', ''], rows);
    console.log('\nplans (EXPLAIN ANALYZE of the SQL the search sends):');
    printTable(['query shape', 'plan', 'in Postgres'], await explainShapes(deployment));
  } finally {
    await ingest?.stop();
    await cleanupPrefix(deployment);
    if (keep) {
      console.log(`\nkept the rows: BENCH_CONSOLE_DEPLOYMENT=${deployment} pnpm bench:console measures them again`);
    } else {
      console.log('deleting the bench\'s signals…');
      await queryDb('DELETE FROM signals WHERE deployment = $1', [deployment]);
    }
  }
}

runBench(main);

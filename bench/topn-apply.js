// `pnpm bench:topn`: how soon after a new Top-N set is published (SET `<prefix>:topn` + PUBLISH
// `<prefix>:topn:updated`, as the screener does) an approver process decides by it.
//
// One approver as a child process, nothing else (no screener, ingest or forwarder):
//   A. GET /status polled back-to-back after each publication until it shows the new
//      snapshot_id: when the approver's in-memory set changed (resolution: one poll, < 1 ms idle).
//   B. Probe signals put straight on the `signals` queue at a steady rate while sets are
//      published; each decision records the snapshot it was made against (signals.snapshot_id,
//      decided_at). Reported: the first decision against the new set, after publication (an upper
//      bound: it includes picking the job up and writing it), and the latest-sent probe still
//      judged on the old set — what a trader would see.
const http = require('node:http');
const { randomUUID } = require('node:crypto');
const {
  IORedis, Queue, REDIS_URL, cleanupPrefix, core, deleteSignalRows, ensureBenchDatabase, fmt, nowMs, percentile,
  printTable, publishTopn, queryDb, runBench, serviceEnv, sleep, startService, uniquePrefix, verdict,
} = require('./lib');

const PUBLICATIONS = Number(process.env.BENCH_PUBLICATIONS || 50);
const PROBES_PER_SEC = 100;
const TARGET_MS = 50;
const TICKERS = ['NVDA', 'AAPL', 'MSFT', 'AMZN', 'META', 'GOOGL', 'TSLA', 'AVGO', 'AMD', 'NFLX', 'ORCL', 'CRM', 'ADBE', 'INTC', 'QCOM'];

/** A different set each time (rotated), so each publication is a new snapshot as a screener's would be. */
const setNumber = (k) => [...TICKERS.slice(k % TICKERS.length), ...TICKERS.slice(0, k % TICKERS.length)];
/** Publications are spaced irregularly so they cannot fall in step with the approver's 5 s poll. */
const pause = (base) => sleep(base + Math.random() * base);

function statusPoller(url) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = () => new Promise((resolve, reject) => {
    http.get(`${url}/status`, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });
  return { get, close: () => agent.destroy() };
}

async function viaStatus(redis, prefix, approver) {
  const poller = statusPoller(approver.url);
  const latencies = [];
  const resolution = [];
  try {
    for (let k = 1; k <= PUBLICATIONS; k++) {
      await pause(75);
      const { set, at } = await publishTopn(redis, prefix, setNumber(k));
      for (;;) {
        const asked = nowMs();
        const status = await poller.get();
        if (status.topn?.snapshot_id === set.snapshot_id) {
          latencies.push(nowMs() - at);
          resolution.push(nowMs() - asked);
          break;
        }
        if (nowMs() - at > 10_000) throw new Error(`the approver did not apply snapshot ${set.snapshot_id} within 10 s`);
      }
    }
  } finally {
    poller.close();
  }
  return { latencies: latencies.sort((a, b) => a - b), pollMs: percentile(resolution.sort((a, b) => a - b), 50) };
}

/** A source BUY for a ticker outside every set: rejected (not_in_topn) with the snapshot id recorded, and never forwarded. */
function probeJob(receivedAt) {
  const time = new Date(receivedAt).toISOString();
  return core.SignalJobSchema.parse({
    id: randomUUID(), kind: 'source', ticker: 'PROBE', side: 'BUY', action: 'buy', time, receivedAt: time,
    body: { ticker: 'PROBE', side: 'BUY', action: 'buy', time },
  });
}

async function viaSignals(redis, prefix, probeIds) {
  const queue = new Queue(core.QUEUE.signals, { connection: redis, prefix });
  const probes = []; // { id, sentAt }
  const publications = []; // { snapshotId, at }
  let probing = true;
  const prober = (async () => {
    const start = nowMs();
    for (let i = 0; probing; i++) {
      const dueAt = start + (i * 1000) / PROBES_PER_SEC;
      await sleep(Math.max(0, dueAt - nowMs()));
      const job = probeJob(Date.now());
      const sentAt = nowMs();
      await queue.add('signal', job, core.signalJobOptions(job.id));
      probes.push({ id: job.id, sentAt });
      probeIds.push(job.id);
    }
  })();
  try {
    await sleep(500); // the approver is busy deciding before the first publication
    for (let k = 1; k <= PUBLICATIONS; k++) {
      const { set, at } = await publishTopn(redis, prefix, setNumber(PUBLICATIONS + k));
      publications.push({ snapshotId: set.snapshot_id, at });
      await pause(150);
    }
  } finally {
    probing = false;
    await prober;
  }

  // Every probe decided (or 15 s passed), then read what each was decided against.
  const ids = probes.map((p) => p.id);
  let rows = [];
  for (const deadline = Date.now() + 15_000; Date.now() < deadline; await sleep(200)) {
    rows = await queryDb('SELECT id, snapshot_id, extract(epoch from decided_at) * 1000 AS decided FROM signals WHERE id = ANY($1::uuid[])', [ids]);
    if (rows.length === ids.length) break;
  }
  await queue.close();
  const decision = new Map(rows.map((r) => [r.id, { snapshotId: r.snapshot_id, decidedAt: Number(r.decided) }]));
  const order = new Map(publications.map((p, i) => [p.snapshotId, i]));

  const firstNew = [];
  const staleAfter = [];
  let staleOver = 0;
  publications.forEach((pub, k) => {
    const decidedOnIt = probes.map((p) => decision.get(p.id)).filter((d) => d?.snapshotId === pub.snapshotId);
    if (decidedOnIt.length) firstNew.push(Math.max(0, Math.min(...decidedOnIt.map((d) => d.decidedAt)) - pub.at));
    // Probes sent after this publication but decided against an earlier set.
    const stale = probes.filter((p) => {
      const d = decision.get(p.id);
      return p.sentAt > pub.at && d && (order.get(d.snapshotId) ?? -1) < k;
    });
    const worst = stale.length ? Math.max(...stale.map((p) => p.sentAt - pub.at)) : 0;
    staleAfter.push(worst);
    if (worst > TARGET_MS) staleOver++;
  });
  // How long a probe waited to be decided at all: B's first-decision figure includes it.
  const decisionLag = probes.filter((p) => decision.has(p.id)).map((p) => decision.get(p.id).decidedAt - p.sentAt).sort((a, b) => a - b);
  return {
    probes: probes.length, decided: rows.length, decisionLag,
    firstNew: firstNew.sort((a, b) => a - b), staleAfter: staleAfter.sort((a, b) => a - b), staleOver,
  };
}

async function main() {
  await ensureBenchDatabase();
  const prefix = uniquePrefix('topn');
  console.log(`bench:topn — KEY_PREFIX ${prefix}, ${PUBLICATIONS} publications per method`);
  const redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: null });
  const probeIds = [];
  let approver = null;
  try {
    await publishTopn(redis, prefix, setNumber(0));
    approver = await startService('approver', serviceEnv(prefix));
    const a = await viaStatus(redis, prefix, approver);
    const b = await viaSignals(redis, prefix, probeIds);

    console.log('');
    printTable(['publication → applied, ms', 'p50', 'p99', 'max', 'n'], [
      ['A. GET /status shows the new snapshot_id', fmt(a.latencies.length ? percentile(a.latencies, 50) : NaN), fmt(percentile(a.latencies, 99)), fmt(a.latencies[a.latencies.length - 1]), a.latencies.length],
      ['B. first decision against the new set (decided_at)', fmt(percentile(b.firstNew, 50)), fmt(percentile(b.firstNew, 99)), fmt(b.firstNew[b.firstNew.length - 1]), b.firstNew.length],
      ['B. (a probe: sent → decided, any set)', fmt(percentile(b.decisionLag, 50)), fmt(percentile(b.decisionLag, 99)), fmt(b.decisionLag[b.decisionLag.length - 1]), b.decisionLag.length],
      ['B. latest-sent probe judged on the old set', fmt(percentile(b.staleAfter, 50)), fmt(percentile(b.staleAfter, 99)), fmt(b.staleAfter[b.staleAfter.length - 1]), b.staleAfter.length],
    ]);
    console.log(`A: one /status round trip takes ~${fmt(a.pollMs)} ms (the resolution of A). ` +
      `B: ${b.probes} probes at ${PROBES_PER_SEC}/s, ${b.decided} decided; a probe every ${1000 / PROBES_PER_SEC} ms bounds B's resolution.`);
    console.log(`${verdict(percentile(a.latencies, 99) <= TARGET_MS)}  applied (A) p99 ${fmt(percentile(a.latencies, 99))} ms (target ≤ ${TARGET_MS} ms)`);
    console.log(`${verdict(percentile(b.firstNew, 99) <= TARGET_MS)}  decided on the new set (B) p99 ${fmt(percentile(b.firstNew, 99))} ms (target ≤ ${TARGET_MS} ms)`);
    console.log(`${verdict(b.staleOver === 0)}  publications after which a probe sent > ${TARGET_MS} ms later was still judged on the old set: ${b.staleOver}`);
  } finally {
    await approver?.stop();
    redis.disconnect();
    await cleanupPrefix(prefix);
    await deleteSignalRows(probeIds).catch((error) => console.warn(`could not delete the probe rows: ${error.message}`));
  }
}

runBench(main);

// `pnpm bench:ingest`: POST /webhook/in throughput and acknowledgement latency of ingest, next to
// a bare express JSON echo server on the same machine (the price of HTTP + JSON alone).
//
// Both servers run as child processes: autocannon in this process needs a core of its own, and a
// server sharing its event loop would be measured against its own load generator. They are
// measured one after the other, never at the same time, with the same settings.
// Only ingest runs (no approver), so every accepted signal stays in the `signals` queue: after
// the run the queue must hold exactly one job per 202 — nothing accepted may be lost.
const autocannon = require('autocannon');
const {
  core, cleanupPrefix, countJobs, cpuSeconds, fmt, IORedis, REDIS_URL, redisUsage, percentile, printTable, runBench, serviceEnv, sleep, startEcho, startService,
  uniquePrefix, verdict,
} = require('./lib');
const { pacedLoad } = require('./paced-load');

const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const MAX_CONNECTIONS = 50;
const RATE = 1000;
// autocannon's rate mode has each connection send its per-second share back-to-back at the top of
// each second; fewer connections means smaller bursts. 10 is a handful of concurrent senders.
const RATE_CONNECTIONS = 10;
// Each request a new signal: no Idempotency-Key, no `id` field.
const BODY = JSON.stringify({ ticker: 'AAPL', side: 'buy', price: 1.5 });
const TARGET_RATIO = 0.75;
// Throughput alternates echo and ingest this many times, and the median round's ratio is the verdict:
// on a shared machine one round's neighbour noise would otherwise decide it.
const ROUNDS = 3;
const TARGET_P99_MS = 10;

function cannon(url, options) {
  return autocannon({
    url, method: 'POST', headers: { 'content-type': 'application/json' }, body: BODY,
    // In rate mode autocannon back-fills "expected" samples every ceil(1/rate) = 1 ms for any
    // slower answer (HDR coordinated-omission correction with a wrong interval): record what happened.
    ignoreCoordinatedOmission: Boolean(options.overallRate),
    ...options,
  });
}

/** 202s, and requests autocannon sent but never saw answered (cut off when a timed run stopped). */
function tally(result, { fixedAmount = false } = {}) {
  const accepted = result.statusCodeStats['202']?.count ?? 0;
  const other = Object.entries(result.statusCodeStats).filter(([code]) => code !== '202').map(([code, { count }]) => `${code}×${count}`);
  // A run of a fixed amount is not cut off. (Its requests.sent is no help: autocannon 9's rate
  // timer keeps "sending" on connections it has already destroyed, counting requests that never left.)
  const unanswered = fixedAmount ? 0 : Math.max(0, result.requests.sent - result.requests.total);
  return { accepted, unanswered, other, errors: result.errors };
}

async function main() {
  const prefix = uniquePrefix('ingest');
  console.log(`bench:ingest — KEY_PREFIX ${prefix}, ${SECONDS} s per phase, one target at a time`);
  const echo = await startEcho();
  // Redis's own CPU and reads during ingest's rounds (every client of this Redis counts).
  const redis = new IORedis(REDIS_URL);
  const ingest = await startService('ingest', serviceEnv(prefix, { QUEUE_MAX_SIZE: String(1e9) }));
  const targets = [
    { name: 'echo', url: `${echo.url}/webhook/in`, result: {} },
    { name: 'ingest', url: `${ingest.url}/webhook/in`, result: {} },
  ];
  const ingestTarget = targets[1];
  let accepted = 0;
  let unanswered = 0;
  let problem = null;
  const count = (target, t) => {
    if (t.other.length || t.errors) console.log(`  ${target.name}: non-202 answers ${t.other.join(' ') || 'none'}, errors ${t.errors}`);
    if (target === ingestTarget) { accepted += t.accepted; unanswered += t.unanswered; }
  };
  try {
    for (const target of targets) {
      // JIT, connection pools, Redis scripts loaded: not measured.
      count(target, tally(await cannon(target.url, { connections: MAX_CONNECTIONS, duration: 3 })));
    }
    const rounds = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const measured = {};
      for (const target of targets) {
        console.log(`(a) round ${round} of ${ROUNDS}, ${target.name}: max throughput, ${MAX_CONNECTIONS} connections…`);
        const pid = target === ingestTarget ? ingest.child.pid : echo.pid;
        const cpuBefore = cpuSeconds(pid);
        const redisBefore = await redisUsage(redis);
        const result = await cannon(target.url, { connections: MAX_CONNECTIONS, duration: SECONDS });
        const redisAfter = await redisUsage(redis);
        count(target, tally(result));
        const perRequest = (n) => n / result.requests.total;
        measured[target.name] = {
          rps: result.requests.total / result.duration, p50: result.latency.p50, p99: result.latency.p99,
          cpuMsPerRequest: perRequest((cpuSeconds(pid) - cpuBefore) * 1000),
          redisCpuMsPerRequest: perRequest((redisAfter.cpu - redisBefore.cpu) * 1000),
          redisReadsPerRequest: perRequest(redisAfter.reads - redisBefore.reads),
        };
      }
      rounds.push({ ...measured, ratio: measured.ingest.rps / measured.echo.rps });
    }
    const median = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor(rounds.length / 2)];
    targets[0].result.max = median.echo;
    ingestTarget.result.max = median.ingest;
    for (const target of targets) {
      console.log(`(b) ${target.name}: ${RATE}/s (autocannon overallRate, ${RATE_CONNECTIONS} connections)…`);
      // A fixed amount rather than a duration: a run cut off by its timer leaves up to a second's
      // quota sent but unanswered, which would blur the nothing-lost check below.
      const result = await cannon(target.url, { connections: RATE_CONNECTIONS, amount: RATE * SECONDS, overallRate: RATE });
      count(target, tally(result, { fixedAmount: true }));
      target.result.rate = { rps: result.requests.total / result.duration, p50: result.latency.p50, p99: result.latency.p99 };
    }
    for (const target of targets) {
      console.log(`(c) ${target.name}: ${RATE}/s paced open-loop…`);
      const samples = await pacedLoad(target.url, { rate: RATE, durationMs: SECONDS * 1000, body: () => JSON.parse(BODY) });
      const ok = samples.filter((s) => s.status === 202);
      if (target === ingestTarget) accepted += ok.length;
      if (ok.length !== samples.length) console.log(`  ${target.name}: ${samples.length - ok.length} of ${samples.length} not 202`);
      const fromDue = ok.map((s) => s.answeredAt - s.dueAt).sort((a, b) => a - b);
      target.result.paced = { rps: ok.length / SECONDS, p50: percentile(fromDue, 50), p99: percentile(fromDue, 99) };
    }

    const [e, i] = targets.map((t) => t.result);
    console.log('');
    printTable(
      ['max throughput, 50 connections', 'echo req/s', 'ingest req/s', 'ratio', 'echo CPU ms/req', 'ingest CPU ms/req', 'Redis CPU ms/req', 'Redis reads/req'],
      rounds.map((r, n) => [
        `round ${n + 1}${r === median ? ' (median)' : ''}`, fmt(r.echo.rps, 0), fmt(r.ingest.rps, 0), fmt(r.ratio),
        fmt(r.echo.cpuMsPerRequest, 3), fmt(r.ingest.cpuMsPerRequest, 3), fmt(r.ingest.redisCpuMsPerRequest, 3), fmt(r.ingest.redisReadsPerRequest, 2),
      ]),
    );
    console.log('');
    printTable(
      ['phase', 'echo req/s', 'ingest req/s', 'ratio', 'echo p50/p99 ms', 'ingest p50/p99 ms'],
      [
        ['(a) max, 50 conn (median)', fmt(e.max.rps, 0), fmt(i.max.rps, 0), fmt(i.max.rps / e.max.rps), `${fmt(e.max.p50)} / ${fmt(e.max.p99)}`, `${fmt(i.max.p50)} / ${fmt(i.max.p99)}`],
        [`(b) ${RATE}/s autocannon`, fmt(e.rate.rps, 0), fmt(i.rate.rps, 0), '', `${fmt(e.rate.p50)} / ${fmt(e.rate.p99)}`, `${fmt(i.rate.p50)} / ${fmt(i.rate.p99)}`],
        [`(c) ${RATE}/s paced`, fmt(e.paced.rps, 0), fmt(i.paced.rps, 0), '', `${fmt(e.paced.p50)} / ${fmt(e.paced.p99)}`, `${fmt(i.paced.p50)} / ${fmt(i.paced.p99)}`],
      ],
    );
    console.log('');
    const ratio = i.max.rps / e.max.rps;
    console.log(`${verdict(ratio >= TARGET_RATIO)}  throughput ingest/echo ${fmt(ratio)}×, the median of ${ROUNDS} alternating rounds (target ≥ ${TARGET_RATIO}×)`);
    console.log(`${verdict(i.rate.p99 <= TARGET_P99_MS)}  ingest p99 at ${RATE}/s (autocannon) ${fmt(i.rate.p99)} ms (target ≤ ${TARGET_P99_MS} ms)`);
    console.log(`${verdict(i.paced.p99 <= TARGET_P99_MS)}  ingest p99 at ${RATE}/s (paced) ${fmt(i.paced.p99)} ms (target ≤ ${TARGET_P99_MS} ms)`);

    // Requests cut off when autocannon stopped may have been enqueued without their 202 being read.
    await sleep(500);
    const jobs = await countJobs(prefix, core.QUEUE.signals);
    const label = jobs.total < accepted ? 'LOST' : jobs.total > accepted + unanswered ? 'EXTRA' : 'OK';
    console.log(`${label.padEnd(4)}  signals queue holds ${jobs.total} jobs; ingest answered 202 ${accepted} times` +
      ` (+ ${unanswered} requests cut off unanswered when a timed run stopped, which may have been enqueued)`);
    if (label === 'LOST') problem = `${accepted - jobs.total} accepted signals are missing from the signals queue`;
    if (label === 'EXTRA') problem = `the signals queue holds ${jobs.total - accepted - unanswered} more jobs than requests could have put there`;
  } finally {
    await ingest.stop();
    await echo.stop();
    redis.disconnect();
    const deleted = await cleanupPrefix(prefix);
    console.log(`cleaned up: queues obliterated, ${deleted} leftover keys of ${prefix} deleted`);
  }
  // Missed targets are reported, not failed; a count that does not add up is a broken relay.
  if (problem) throw new Error(problem);
}

runBench(main);

// `pnpm bench:burst`: a market-open burst. 3,000 alerts over 200 connections at once against the
// relay on this machine (ingest, approver, forwarder; rate cap off; a destination that answers at
// once). TradingView cancels a webhook not answered within 3 s and never sends it again, so the
// acknowledgement time is what decides whether a trader loses signals. Prints ack p50/p99/max, the
// time until the last delivery, duplicates, CPU per signal of each service and of Redis, and
// Redis commands per signal.
const http = require('node:http');
const {
  ensureBenchDatabase, getJson, parseCounter, redisUsage, withRelay, postJson, percentile, cpuSeconds, printTable, fmt, verdict, sleep, nowMs, runBench,
} = require('./lib');

const ALERTS = Number(process.env.BENCH_BURST_ALERTS || 3000);
const CONNECTIONS = 200;
const ACK_P99_TARGET_MS = 1000;
const ACK_MAX_MS = 3000;
const TOPN = ['NVDA', 'AAPL', 'MSFT', 'AMZN', 'META', 'GOOGL', 'TSLA', 'AVGO', 'AMD', 'NFLX', 'ORCL', 'CRM', 'ADBE', 'INTC', 'QCOM'];
const body = (i) => ({ ticker: TOPN[i % TOPN.length], side: 'buy', price: 1.5, n: i });

/** Parks so far in the approver and the forwarder (tsp_lane_parks_total). */
async function lanePark(services) {
  const texts = await Promise.all(['approver', 'forwarder'].map((name) => getJson(`${services[name].url}/metrics`).then((r) => r.text)));
  return texts.reduce((sum, text) => sum + parseCounter(text, 'tsp_lane_parks_total'), 0);
}

async function main() {
  await ensureBenchDatabase();
  await withRelay('burst', TOPN, { DEST_WEBHOOK_RATE_LIMITING_ENABLED: 'false' }, async ({ prefix, destination, services, ids, redis }) => {
    const url = `${services.ingest.url}/webhook/in`;
    const agent = new http.Agent({ keepAlive: true, maxSockets: CONNECTIONS });
    // Warm-up: connections open, JIT warm; sent and delivered, not measured.
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => postJson(url, body(i), agent).then((r) => r.body?.id && ids.push(r.body.id))));
    const warmDeadline = Date.now() + 60_000;
    while (destination.arrivals.length < ids.length) {
      if (Date.now() > warmDeadline) throw new Error(`the warm-up's ${ids.length} signals were not all delivered within 60 s; see the services' logs in ${require('node:os').tmpdir()}/${prefix}-*.log`);
      await sleep(50);
    }
    const arrivalsBefore = destination.arrivals.length;

    const cpuBefore = Object.fromEntries(['ingest', 'approver', 'forwarder'].map((name) => [name, cpuSeconds(services[name].child.pid)]));
    const redisBefore = await redisUsage(redis);
    const parksBefore = await lanePark(services);
    const started = nowMs();
    let next = 0;
    const results = [];
    // 200 connections, each sending its next alert as soon as the last one is answered: all 3,000 within a second or two.
    await Promise.all(Array.from({ length: CONNECTIONS }, async () => {
      while (next < ALERTS) {
        const i = next++;
        results.push(await postJson(url, body(CONNECTIONS + i), agent).catch((error) => ({ status: 0, error, sentAt: nowMs(), answeredAt: nowMs() })));
      }
    }));
    const sentAll = nowMs();
    agent.destroy();
    const accepted = results.filter((r) => r.status === 202).map((r) => r.body.id);
    ids.push(...accepted);
    const want = new Set(accepted);
    const deadline = Date.now() + 120_000;
    let arrived = new Set();
    while (Date.now() < deadline) {
      arrived = new Set(destination.arrivals.slice(arrivalsBefore).map((a) => a.id).filter((id) => want.has(id)));
      if (arrived.size === want.size) break;
      await sleep(50);
    }
    const lastDelivery = Math.max(...destination.arrivals.slice(arrivalsBefore).map((a) => a.at));
    const cpu = Object.fromEntries(Object.entries(cpuBefore).map(([name, before]) => [name, cpuSeconds(services[name].child.pid) - before]));
    const redisAfter = await redisUsage(redis);
    const parks = (await lanePark(services)) - parksBefore;
    const acks = results.map((r) => r.answeredAt - r.sentAt).sort((a, b) => a - b);
    const delivered = destination.arrivals.slice(arrivalsBefore).filter((a) => want.has(a.id));
    const duplicates = delivered.length - new Set(delivered.map((a) => a.id)).size;

    console.log(`burst: ${ALERTS} alerts over ${CONNECTIONS} connections, rate cap off; sent in ${fmt((sentAll - started) / 1000)} s`);
    console.log(`answered 202: ${accepted.length}, other: ${results.length - accepted.length}; delivered ${arrived.size} of ${accepted.length}, twice: ${duplicates}`);
    printTable(['acknowledgement, ms', 'p50', 'p99', 'max'], [['POST sent → answer read', fmt(acks.length ? percentile(acks, 50) : NaN), fmt(percentile(acks, 99)), fmt(acks[acks.length - 1])]]);
    console.log(`last delivery ${fmt((lastDelivery - started) / 1000)} s after the first alert was sent`);
    const perSignalMs = (seconds) => fmt((seconds * 1000) / ALERTS, 3);
    const redisCpu = redisAfter.cpu - redisBefore.cpu;
    const servicesCpu = Object.values(cpu).reduce((a, b) => a + b, 0);
    console.log(`CPU ms per signal: ${Object.entries(cpu).map(([name, s]) => `${name} ${perSignalMs(s)}`).join(', ')}; services ${perSignalMs(servicesCpu)}; Redis ${perSignalMs(redisCpu)}`);
    console.log(`Redis commands per signal: ${fmt((redisAfter.calls - redisBefore.calls) / ALERTS, 1)}, reads per signal ${fmt((redisAfter.reads - redisBefore.reads) / ALERTS, 1)} (INFO commandstats and stats, every client of this Redis)`);
    const perCommand = Object.entries(redisAfter.byCommand).map(([name, n]) => [name, (n - (redisBefore.byCommand[name] ?? 0)) / ALERTS]).filter(([, n]) => n >= 0.5).sort((a, b) => b[1] - a[1]);
    console.log(`  of which: ${perCommand.map(([name, n]) => `${name} ${fmt(n, 1)}`).join(', ')}`);
    console.log(`signals parked behind an earlier one of their ticker: ${fmt((parks * 100) / ALERTS, 1)} % (a park costs a delayed job and a wake-up)`);
    console.log(`${verdict(percentile(acks, 99) <= ACK_P99_TARGET_MS)}  ack p99 ${fmt(percentile(acks, 99))} ms (target ≤ ${ACK_P99_TARGET_MS} ms)`);
    console.log(`${verdict(acks[acks.length - 1] <= ACK_MAX_MS)}  ack max ${fmt(acks[acks.length - 1])} ms (TradingView gives up at ${ACK_MAX_MS} ms)`);
    console.log(`${verdict(arrived.size === accepted.length && duplicates === 0)}  every accepted alert delivered once`);
  });
}

runBench(main);

/**
 * Fault: the Redis master of a Sentinel group (master, one replica, three Sentinels; AOF on both
 * data nodes) is SIGKILLed while signals pour in. The Sentinels promote the replica; every
 * service follows it (REDIS_URL=redis+sentinel://…), the killed node comes back as a replica, and
 * the relay carries on. Ingest answers 202 only once the replica holds the signal
 * (REDIS_WAIT_REPLICAS=1), so the failover loses no accepted signal. The senders are careful ones:
 * a 503 or a cut connection is sent again with the same Idempotency-Key.
 *
 * It prints the figures: accepted, delivered, lost, redelivered, split. Delivery is at least once
 * with one Idempotency-Key (README, "Delivered means delivered"; CONTRACT §5: the same key on
 * every retry): a failover can send a delivery again under its one key, which the broker
 * recognises, so `redelivered` is counted, not forbidden. An alert the broker cannot recognise as
 * a repeat, one the sender sent once (with retries under its Idempotency-Key) reaching the broker
 * under two keys (`split`: accepted twice), is forbidden, as is a lost one.
 */
import { waitFor } from '../support/helpers';
import { FaultLab } from './support/fault-lab';
import { PAGE_TICKERS } from './support/finviz-stand-in';
import { SentinelGroup } from './support/redis-ha';

const TOP_N = 5;
const IN_TOPN = PAGE_TICKERS.slice(0, TOP_N);
const SENDERS = 8;
/** Load before the kill, and after the failover. */
const BEFORE_KILL_MS = 3000;
const AFTER_FAILOVER_MS = 3000;

interface Figures {
  sent: number;
  accepted: number;
  retried: number;
  delivered: number;
  lost: number;
  /** Signals delivered more than once, each time under its one Idempotency-Key (allowed: at least once). */
  redelivered: number;
  /** Alerts of the senders delivered under more than one Idempotency-Key: accepted twice (forbidden). */
  split: number;
  failoverMs: number;
  /** Time to a 202 before the kill, ms (the price of REDIS_WAIT_REPLICAS shows here). */
  acceptP50Ms: number;
  acceptP99Ms: number;
}

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))] ?? 0;

describe('fault: the Redis master of a Sentinel group is killed under load', () => {
  const lab = new FaultLab('redis-sentinel');
  let group: SentinelGroup;
  beforeAll(() => lab.start({
    screenerTopN: TOP_N,
    redis: async (workDir) => (group = await SentinelGroup.start(workDir)),
    env: { REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '1000', JOB_LOCK_MS: '5000', DEST_WEBHOOK_MAX_REQ_PER_MIN: '60000' },
  }), 120_000);
  afterAll(() => lab.shutdown(), 60_000);

  it('fails over and carries on: no accepted signal lost, none accepted twice', lab.watch(async () => {
    await waitFor(async () => (await lab.relay.admin(lab.ingest.url, 'GET', '/finviz/topn')).status === 200, 30_000, 'the screener to publish a Top-N');

    const accepted = new Map<string, string>();
    let sent = 0;
    let retried = 0;
    let sending = true;
    let killed = false;
    const latencies: number[] = [];
    const sender = async (n: number) => {
      for (let i = 0; sending; i++) {
        const ref = `s${n}-${i}`;
        sent += 1;
        const startedAt = performance.now();
        const id = await lab.relay.postKeyedUntilAccepted({ ticker: IN_TOPN[(n + i) % IN_TOPN.length], action: 'buy', price: 10, fault_ref: ref }, ref, 60_000, () => { retried += 1; });
        if (!killed) latencies.push(performance.now() - startedAt);
        accepted.set(ref, id);
      }
    };
    const senders = Array.from({ length: SENDERS }, (_, n) => sender(n));

    await new Promise((resolve) => setTimeout(resolve, BEFORE_KILL_MS));
    const formerMaster = group.masterPort();
    killed = true;
    const killedAt = Date.now();
    await group.node(formerMaster).kill();
    const newMaster = await group.failedOverFrom(formerMaster);
    const failoverMs = Date.now() - killedAt;
    // As an orchestrator would: the killed node starts again (its AOF) and rejoins as a replica.
    await group.node(formerMaster).start();
    await group.replicating(formerMaster);
    await new Promise((resolve) => setTimeout(resolve, AFTER_FAILOVER_MS));
    sending = false;
    await Promise.all(senders);
    const acceptedIds = [...accepted.values()];
    const acceptedAfter = (await lab.relay.post({ ticker: IN_TOPN[0], action: 'buy', price: 10, fault_ref: 'after' })).status;

    const lost = () => acceptedIds.filter((id) => !lab.destination.deliveredKeys().has(id));
    await waitFor(() => lost().length === 0, 60_000, 'every accepted signal delivered').catch(() => undefined);
    // Let retries of anything redelivered arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 2000));

    const okArrivals = lab.destination.arrivals.filter((a) => a.status !== undefined && a.status < 300);
    const perId = new Map<string, number>();
    for (const a of okArrivals) perId.set(a.key!, (perId.get(a.key!) ?? 0) + 1);
    // Each sender's alert (its fault_ref, the Idempotency-Key it posted with) and the keys it reached the broker under.
    const idsOfRef = new Map<string, Set<string>>();
    for (const a of okArrivals) idsOfRef.set(String(a.body.fault_ref), (idsOfRef.get(String(a.body.fault_ref)) ?? new Set()).add(a.key!));
    const split = [...idsOfRef].filter(([, ids]) => ids.size > 1).map(([ref, ids]) => ({ ref, ids: [...ids] }));
    const figures: Figures = {
      sent,
      accepted: acceptedIds.length,
      retried,
      delivered: [...perId.keys()].filter((id) => acceptedIds.includes(id)).length,
      lost: lost().length,
      redelivered: [...perId.values()].filter((n) => n > 1).length,
      split: split.length,
      failoverMs,
      acceptP50Ms: Math.round(percentile(latencies, 50) * 10) / 10,
      acceptP99Ms: Math.round(percentile(latencies, 99) * 10) / 10,
    };
    process.stdout.write(`\nSentinel failover under load (master ${formerMaster} killed, ${newMaster} promoted): ${JSON.stringify(figures)}\n`);

    expect(newMaster).not.toBe(formerMaster);
    expect(acceptedAfter).toBe(202);
    expect(figures.accepted).toBeGreaterThan(0);
    expect(lost()).toEqual([]);
    expect(split).toEqual([]);
    expect(lab.unexpectedExits()).toEqual([]);
  }), 200_000);
});

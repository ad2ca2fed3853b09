/**
 * The whole relay on a Redis Cluster of three masters (REDIS_CLUSTER_NODES): the screener scrapes
 * a local Finviz stand-in and publishes the Top-N, ingest accepts (one Lua script call), the approver decides
 * against the Top-N it was told of (pub/sub), the forwarder delivers under the Bottleneck limiter
 * and the start logs (Lua), the audit reaches Postgres through the outbox. Every key of the relay
 * carries the KEY_PREFIX hash tag, so all of them sit on one node's slot.
 */
import { waitFor } from '../support/helpers';
import { allInStatus, readAudit } from './support/audit-reader';
import { FaultLab } from './support/fault-lab';
import { PAGE_TICKERS } from './support/finviz-stand-in';
import { RedisClusterNodes } from './support/redis-ha';

const TOP_N = 5;
const IN_TOPN = PAGE_TICKERS.slice(0, TOP_N);
const OUTSIDE = PAGE_TICKERS.slice(TOP_N, TOP_N + 3);
const BUYS = 20;

describe('fault lab: the relay on a 3-master Redis Cluster', () => {
  const lab = new FaultLab('redis-cluster');
  let cluster: RedisClusterNodes;
  beforeAll(() => lab.start({
    screenerTopN: TOP_N,
    redis: async (workDir) => (cluster = await RedisClusterNodes.start(workDir)),
  }), 120_000);
  afterAll(() => lab.shutdown(), 60_000);

  it('carries signals end to end: approved against the Top-N, delivered once, audited', lab.watch(async () => {
    const topn = await waitFor(async () => {
      const answer = await lab.relay.admin<{ tickers?: string[] }>(lab.ingest.url, 'GET', '/finviz/topn');
      return answer.status === 200 ? answer.body : null;
    }, 30_000, 'the screener to publish a Top-N');
    expect(topn.tickers).toEqual(IN_TOPN);

    const post = (ticker: string, ref: string) => lab.relay.postKeyedUntilAccepted({ ticker, action: 'buy', price: 10, fault_ref: ref }, ref);
    const approved = await Promise.all(Array.from({ length: BUYS }, (_, i) => post(IN_TOPN[i % IN_TOPN.length], `in-${i}`)));
    const rejected = await Promise.all(OUTSIDE.map((ticker, i) => post(ticker, `out-${i}`)));
    // A repeat with the same Idempotency-Key is the same signal (the claim and the job are in one slot's MULTI).
    expect(await post(IN_TOPN[0], 'in-0')).toBe(approved[0]);

    await waitFor(() => approved.every((id) => lab.destination.deliveredKeys().has(id)), 60_000, 'every approved signal delivered');
    await waitFor(() => allInStatus(lab.postgres.databaseUrl, approved, 'forwarded'), 30_000, 'the approved signals audited as forwarded');
    await waitFor(() => allInStatus(lab.postgres.databaseUrl, rejected, 'rejected'), 30_000, 'the others audited as rejected');

    const rows = await readAudit(lab.postgres.databaseUrl, rejected);
    expect([...rows.values()].map((row) => row.reason)).toEqual(rejected.map(() => 'not_in_topn'));
    // Delivered once each, and nothing else.
    expect(lab.destination.arrivals.map((a) => a.key).sort()).toEqual([...approved].sort());
    // One slot: every key of the relay (BullMQ's, Bottleneck's, tsp's) on one of the three masters.
    expect(cluster.keysPerNode().filter((count) => count > 0)).toHaveLength(1);
    expect(lab.unexpectedExits()).toEqual([]);
  }), 150_000);
});

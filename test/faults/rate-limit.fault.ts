/**
 * Fault: load beyond the cap, spread over three forwarder replicas. The cap is global: in no
 * sliding 60 s window may more than DEST_WEBHOOK_MAX_REQ_PER_MIN requests start at the
 * destination, summed over every replica, while the backlog still uses the whole cap.
 * 40 signals at 30/min: a full window, then ten more after it, take ≈ 80 s by design.
 */
import { waitFor } from '../support/helpers';
import { allInStatus } from './support/audit-reader';
import { FaultLab } from './support/fault-lab';
import { keyMismatches } from './support/one-key-per-signal';
import { densestWindow } from '../support/rate-window';
import { faultSignal } from './support/relay-client';

const CAP_PER_MIN = 30;
const SIGNALS = 40;
const REPLICAS = 3;

/** Delivered count from a forwarder's /metrics (tsp_forward_attempts_total{outcome="delivered"}). */
async function deliveredBy(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('tsp_forward_attempts_total{') && l.includes('outcome="delivered"'));
  return line ? Number(line.trim().split(/\s+/).pop()) : 0;
}

describe('fault: global rate limit across three forwarder replicas', () => {
  const lab = new FaultLab('rate-limit');
  beforeAll(() => lab.start({ forwarders: REPLICAS, env: { DEST_WEBHOOK_MAX_REQ_PER_MIN: String(CAP_PER_MIN) } }), 120_000);
  afterAll(() => lab.shutdown(), 60_000);

  it(`never lets more than ${CAP_PER_MIN} requests start in any 60 s window, and delivers all ${SIGNALS}`, lab.watch(async () => {
    const idOfRef = new Map<string, string>();
    const ids = await Promise.all(Array.from({ length: SIGNALS }, async (_, i) => {
      const id = await lab.relay.postUntilAccepted(faultSignal(`cap-${i}`, i));
      idOfRef.set(`cap-${i}`, id);
      return id;
    }));

    await waitFor(() => ids.every((id) => lab.destination.deliveredKeys().has(id)), 180_000, `all ${SIGNALS} deliveries`);

    const starts = lab.destination.arrivals.map((a) => a.at);
    const densest = densestWindow(starts);
    expect(densest.count).toBeLessThanOrEqual(CAP_PER_MIN);
    // Under a backlog the cap is used, not just respected: some window holds the full cap.
    expect(densest.count).toBe(CAP_PER_MIN);
    // The cap was shared: every replica delivered some of the signals.
    // A replica counts a delivery once it has recorded it, a moment after the destination saw it.
    let perReplica: number[] = [];
    await waitFor(async () => {
      perReplica = await Promise.all(lab.forwarders.map((f) => deliveredBy(f.url)));
      return perReplica.reduce((a, b) => a + b, 0) >= SIGNALS;
    }, 10_000, 'every delivery counted by its replica').catch(() => undefined);
    expect(perReplica.every((n) => n > 0)).toBe(true);
    expect(perReplica.reduce((a, b) => a + b, 0)).toBe(SIGNALS);

    expect(lab.destination.arrivals).toHaveLength(SIGNALS);
    expect(keyMismatches(lab.destination.arrivals, idOfRef)).toEqual([]);
    await waitFor(() => allInStatus(lab.postgres.databaseUrl, ids, 'forwarded'), 15_000, 'status forwarded');
    expect(lab.unexpectedExits()).toEqual([]);
  }), 210_000);
});

/**
 * Fault: a forwarder is SIGKILLed while requests are in flight (the destination answers slowly),
 * then restarted. Every accepted signal must still be delivered; the deliveries the kill cut off
 * are sent again (at least once) and every request of a signal carries that signal's own
 * Idempotency-Key, so the destination can drop the repeats.
 */
import { waitFor } from '../support/helpers';
import { allInStatus } from './support/audit-reader';
import { FaultLab } from './support/fault-lab';
import { keyMismatches } from './support/one-key-per-signal';
import { faultSignal } from './support/relay-client';

const SIGNALS = 20;
const ANSWER_DELAY_MS = 300;

describe('fault: forwarder killed mid-delivery', () => {
  const lab = new FaultLab('forwarder-kill');
  // A short job lock: the killed replica's jobs are retaken about 2 s later, not 30 s.
  beforeAll(() => lab.start({ env: { JOB_LOCK_MS: '2000', DEST_WEBHOOK_MAX_REQ_PER_MIN: '600' } }), 120_000);
  afterAll(() => lab.shutdown(), 60_000);

  it('delivers every accepted signal after a restart, each with one Idempotency-Key throughout', lab.watch(async () => {
    lab.destination.respond = () => ({ status: 200, delayMs: ANSWER_DELAY_MS });
    const idOfRef = new Map<string, string>();
    const ids = await Promise.all(Array.from({ length: SIGNALS }, async (_, i) => {
      const id = await lab.relay.postUntilAccepted(faultSignal(`kill-${i}`, i));
      idOfRef.set(`kill-${i}`, id);
      return id;
    }));

    // Kill when some deliveries are done and a young one is in flight (its answer still ≥ 100 ms away).
    await waitFor(() => {
      const answered = lab.destination.arrivals.filter((a) => a.answeredAt !== undefined).length;
      return answered >= 4 && lab.destination.arrivals.some((a) => a.answeredAt === undefined && Date.now() - a.at < ANSWER_DELAY_MS - 100);
    }, 20_000, 'deliveries in flight');
    const forwarder = lab.forwarders[0];
    await forwarder.kill();
    const cutOff = lab.destination.arrivals.filter((a) => a.answeredAt === undefined).map((a) => a.key!);
    expect(cutOff.length).toBeGreaterThan(0);

    await forwarder.start();
    await waitFor(() => ids.every((id) => lab.destination.deliveredKeys().has(id)), 30_000, 'every signal delivered after the restart');

    expect(keyMismatches(lab.destination.arrivals, idOfRef)).toEqual([]);
    // The cut-off deliveries were not lost: each was sent again, with the same key, and answered.
    for (const key of cutOff) {
      const requests = lab.destination.arrivalsOf(key);
      expect(requests.length).toBeGreaterThanOrEqual(2);
      expect(requests[requests.length - 1].status).toBe(200);
    }

    await waitFor(() => allInStatus(lab.postgres.databaseUrl, ids, 'forwarded'), 15_000, 'status forwarded');
    const rows = await lab.audit(ids);
    for (const id of ids) expect(rows.get(id)!.deliveries.some((d) => d.http_status === 200)).toBe(true);
    expect(lab.unexpectedExits()).toEqual([]);
  }), 90_000);
});

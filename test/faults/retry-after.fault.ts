/**
 * Fault: the destination answers 429 with `Retry-After: 2`. The next attempt of that signal must
 * not start before the 2 s are up, however short the relay's own backoff is (base 100 ms here).
 */
import { waitFor } from '../support/helpers';
import { allInStatus } from './support/audit-reader';
import { FaultLab } from './support/fault-lab';
import { faultSignal } from './support/relay-client';

const RETRY_AFTER_SEC = 2;

describe('fault: 429 with Retry-After', () => {
  const lab = new FaultLab('retry-after');
  beforeAll(() => lab.start({ env: { FORWARD_BACKOFF_BASE_MS: '100', FORWARD_MAX_ATTEMPTS: '3' } }), 120_000);
  afterAll(() => lab.shutdown(), 60_000);

  it('starts the next attempt no sooner than Retry-After after the 429 answer', lab.watch(async () => {
    // Each signal's first request is refused with 429; any later one is accepted.
    lab.destination.respond = (arrival, previous) =>
      previous.some((p) => p.key === arrival.key) ? { status: 200 } : { status: 429, headers: { 'retry-after': String(RETRY_AFTER_SEC) } };
    const ids = await Promise.all([0, 1, 2].map((i) => lab.relay.postUntilAccepted(faultSignal(`retry-after-${i}`, i))));

    await waitFor(() => ids.every((id) => lab.destination.deliveredKeys().has(id)), 30_000, 'every signal delivered after its 429');
    for (const id of ids) {
      const [refused, retried, ...more] = lab.destination.arrivalsOf(id);
      expect(refused.status).toBe(429);
      // Measured from when this side sent the 429: the relay saw it later still, so this errs in its favour only by network time.
      expect(retried.at - refused.answeredAt!).toBeGreaterThanOrEqual(RETRY_AFTER_SEC * 1000);
      expect(retried.status).toBe(200);
      expect(more).toEqual([]);
    }

    await waitFor(() => allInStatus(lab.postgres.databaseUrl, ids, 'forwarded'), 15_000, 'the audit rows');
    const rows = await lab.audit(ids);
    for (const id of ids) {
      expect(rows.get(id)!.deliveries).toEqual([
        expect.objectContaining({ attempt: 1, http_status: 429 }),
        expect.objectContaining({ attempt: 2, http_status: 200 }),
      ]);
    }
    expect(lab.unexpectedExits()).toEqual([]);
  }));
});

/**
 * Fault: Redis (AOF, fsync on every write) crashes and restarts, once while signals wait in a
 * paused forward queue and once in the middle of delivering them. Nothing accepted may be lost,
 * and the shared rate limiter, which lives in that Redis, must recover: deliveries go on after
 * each restart, still spaced 60 s / cap apart across both replicas.
 */
import { waitFor } from '../support/helpers';
import { allInStatus } from './support/audit-reader';
import { FaultLab } from './support/fault-lab';
import { keyMismatches } from './support/one-key-per-signal';
import { leadOverPace } from '../support/rate-window';
import { faultSignal } from './support/relay-client';

const CAP_PER_MIN = 120;
/** The pace the cap allows, at least: one request start per 60 s / cap. */
const SPACING_MS = 60_000 / CAP_PER_MIN;
/**
 * Timers and Redis round trips (each write fsynced) make single gaps jitter by tens of ms; an
 * extra request let through would put the starts a whole spacing (500 ms) ahead of the pace.
 */
const JITTER_MS = 200;
const QUEUED = 20;
const AFTER_RESTART = 5;

describe('fault: Redis restarts while signals are queued', () => {
  const lab = new FaultLab('redis-restart');
  beforeAll(() => lab.start({ forwarders: 2, env: { DEST_WEBHOOK_MAX_REQ_PER_MIN: String(CAP_PER_MIN), JOB_LOCK_MS: '5000' } }), 120_000);
  afterAll(() => lab.shutdown(), 60_000);

  it('loses no accepted signal and keeps delivering, spaced, after each restart', lab.watch(async () => {
    const idOfRef = new Map<string, string>();
    const post = async (ref: string, index: number) => {
      const id = await lab.relay.postUntilAccepted(faultSignal(ref, index), 30_000);
      idOfRef.set(ref, id);
      return id;
    };
    const adminUntilOk = (route: string) =>
      waitFor(async () => (await lab.relay.admin(lab.forwarders[0].url, 'POST', route)).status === 200, 20_000, `POST ${route}`);

    // Signals wait in the forward queue: approved and handed to the (paused) forwarders, not delivered.
    await adminUntilOk('/admin/pause');
    const queued = await Promise.all(Array.from({ length: QUEUED }, (_, i) => post(`queued-${i}`, i)));
    await waitFor(async () => (await lab.relay.status()).queues.signals.completed === QUEUED, 20_000, 'every decision handed to the forward queue');
    // The audit rows follow through the Redis outbox, a moment later.
    await waitFor(() => allInStatus(lab.postgres.databaseUrl, queued, 'approved'), 20_000, 'the queued signals audited as approved');

    await lab.redis.crashAndRestart();
    const accepted = [...queued, ...(await Promise.all(Array.from({ length: AFTER_RESTART }, (_, i) => post(`after-restart-${i}`, QUEUED + i))))];
    // The pause is state in Redis: it survived the crash too.
    expect((await lab.relay.status()).delivery_paused).toBe(true);
    expect(lab.destination.arrivals).toEqual([]);
    await adminUntilOk('/admin/resume');

    // Crash again mid-delivery: the limiter loses its connections with requests waiting for slots.
    await waitFor(() => lab.destination.arrivals.length >= 6, 30_000, 'deliveries to start');
    const crashedAt = Date.now();
    await lab.redis.crashAndRestart();
    const restartedAt = Date.now();
    expect(lab.destination.deliveredKeys().size).toBeLessThan(accepted.length);

    await waitFor(() => accepted.every((id) => lab.destination.deliveredKeys().has(id)), 60_000, 'every accepted signal delivered');
    expect(lab.destination.arrivals.some((a) => a.at > restartedAt)).toBe(true);
    // Paced on each side of the crash. The one start granted just before it waits for Redis to
    // come back and goes late, so the start after it is up to a spacing ahead across the crash (as
    // one extra start would be); a limiter that lost its pace lets the waiting deliveries go
    // together, several spacings ahead.
    const starts = lab.destination.arrivals.map((a) => a.at);
    const [heldUp, ...afterRestart] = starts.filter((at) => at >= restartedAt);
    expect(heldUp).toBeDefined();
    expect(leadOverPace(starts.filter((at) => at < crashedAt), SPACING_MS)).toBeLessThanOrEqual(JITTER_MS);
    expect(leadOverPace(afterRestart, SPACING_MS)).toBeLessThanOrEqual(JITTER_MS);
    expect(leadOverPace(starts, SPACING_MS)).toBeLessThanOrEqual(SPACING_MS + JITTER_MS);
    expect(keyMismatches(lab.destination.arrivals, idOfRef)).toEqual([]);

    await waitFor(() => allInStatus(lab.postgres.databaseUrl, accepted, 'forwarded'), 20_000, 'status forwarded');
    expect(lab.unexpectedExits()).toEqual([]);
  }), 150_000);
});

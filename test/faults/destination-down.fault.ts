/**
 * Fault: the destination is unreachable (connection refused, then 503) for longer than every
 * attempt lasts. Signals must end `dead` with reason attempts_exhausted, keep their attempts, and
 * be delivered by a replay once the destination is back, with their original Idempotency-Key.
 */
import { waitFor } from '../support/helpers';
import { allInStatus } from './support/audit-reader';
import { FaultLab } from './support/fault-lab';
import { keyMismatches } from './support/one-key-per-signal';
import { faultSignal } from './support/relay-client';

const MAX_ATTEMPTS = 3;

describe('fault: destination down for longer than all attempts', () => {
  const lab = new FaultLab('destination-down');
  beforeAll(() => lab.start({ env: { FORWARD_MAX_ATTEMPTS: String(MAX_ATTEMPTS), FORWARD_BACKOFF_BASE_MS: '100' } }), 120_000);
  afterAll(() => lab.shutdown(), 60_000);

  const idOfRef = new Map<string, string>();
  const post = async (ref: string, index: number) => {
    const id = await lab.relay.postUntilAccepted(faultSignal(ref, index));
    idOfRef.set(ref, id);
    return id;
  };
  let refused: string[] = [];
  let unavailable: string[] = [];

  it('marks signals dead (attempts_exhausted) after every attempt failed', lab.watch(async () => {
    await lab.destination.goDown();
    refused = await Promise.all([0, 1, 2].map((i) => post(`refused-${i}`, i)));
    await waitFor(() => allInStatus(lab.postgres.databaseUrl, refused, 'dead'), 30_000, 'the refused signals to be dead');

    // Back, but answering 503 to everything: a different failure, the same end.
    lab.destination.respond = () => ({ status: 503 });
    await lab.destination.comeUp();
    unavailable = await Promise.all([3, 4, 5].map((i) => post(`unavailable-${i}`, i)));
    await waitFor(() => allInStatus(lab.postgres.databaseUrl, unavailable, 'dead'), 30_000, 'the 503 signals to be dead');

    for (const id of [...refused, ...unavailable]) {
      const view = await lab.relay.signal(id);
      expect(view).toMatchObject({ status: 'dead', reason: 'attempts_exhausted' });
      expect(view.deliveries.map((d) => d.attempt)).toEqual([1, 2, 3]);
    }
    for (const id of unavailable) expect(lab.destination.arrivalsOf(id).map((a) => a.status)).toEqual([503, 503, 503]);
    expect(lab.destination.arrivals.filter((a) => refused.includes(a.key!))).toEqual([]);

    const dead = await lab.relay.admin<{ items: { id: string }[] }>(lab.forwarders[0].url, 'GET', '/admin/dead');
    expect(dead.status).toBe(200);
    expect(dead.body.items.map((item) => item.id).sort()).toEqual([...refused, ...unavailable].sort());
  }), 90_000);

  it('delivers them on replay once the destination is back, with the same Idempotency-Key', lab.watch(async () => {
    lab.destination.respond = () => ({ status: 200 });
    const [single, ...rest] = [...refused, ...unavailable];
    // One through the forwarder's admin route, the rest through ingest's replay-all.
    const one = await lab.relay.admin(lab.forwarders[0].url, 'POST', `/admin/dead/${single}/replay`);
    expect(one.status).toBe(202);
    const all = await lab.relay.admin<{ ids: string[] }>(lab.ingest.url, 'POST', '/admin/dead/replay-all');
    expect(all.status).toBe(202);
    expect([...all.body.ids].sort()).toEqual([...rest].sort());

    const ids = [...refused, ...unavailable];
    await waitFor(() => ids.every((id) => lab.destination.deliveredKeys().has(id)), 30_000, 'the replays to be delivered');
    expect(keyMismatches(lab.destination.arrivals, idOfRef)).toEqual([]);
    for (const id of refused) expect(lab.destination.arrivalsOf(id).map((a) => a.status)).toEqual([200]);
    for (const id of unavailable) expect(lab.destination.arrivalsOf(id).map((a) => a.status)).toEqual([503, 503, 503, 200]);

    await waitFor(() => allInStatus(lab.postgres.databaseUrl, ids, 'forwarded'), 15_000, 'status forwarded');
    const rows = await lab.audit(ids);
    for (const id of ids) {
      // Attempt numbers keep counting up across the replay: the trail shows all four.
      expect(rows.get(id)!.deliveries.map((d) => [d.attempt, d.http_status])).toEqual([
        [1, unavailable.includes(id) ? 503 : null],
        [2, unavailable.includes(id) ? 503 : null],
        [3, unavailable.includes(id) ? 503 : null],
        [4, 200],
      ]);
    }
    expect(lab.unexpectedExits()).toEqual([]);
  }), 60_000);
});

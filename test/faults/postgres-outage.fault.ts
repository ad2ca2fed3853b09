/**
 * Fault: Postgres stops for 10 s while signals keep arriving. Postgres holds only the audit trail,
 * so the relay must keep deciding and delivering through the outage (audit rows wait in the Redis
 * outbox), and once Postgres is back every signal must have its full audit: status forwarded and
 * its deliveries rows.
 */
import { waitFor } from '../support/helpers';
import { allInStatus } from './support/audit-reader';
import { FaultLab } from './support/fault-lab';
import { keyMismatches } from './support/one-key-per-signal';
import { faultSignal } from './support/relay-client';

const OUTAGE_MS = 10_000;
/** Load: one signal every 200 ms (5/s), from 2 s before the outage to 2 s after it. */
const POST_EVERY_MS = 200;
const LOAD_MARGIN_MS = 2000;
/** A signal posted this long before Postgres returns must have been delivered while it was still down. */
const DELIVERY_SLACK_MS = 1000;

interface Posted {
  ref: string;
  status: number;
  id: string | null;
  /** When the relay answered. */
  at: number;
}

describe('fault: Postgres down for 10 s under load', () => {
  const lab = new FaultLab('postgres-outage');
  const posted: Posted[] = [];
  let stoppedAt = 0;
  let restartingAt = 0;
  let readyDuringOutage: { status: number; body: string } | null = null;

  const accepted = () => posted.filter((p) => p.id !== null).map((p) => p.id!);

  beforeAll(lab.watch(async () => {
    await lab.start({ forwarders: 2, env: { DEST_WEBHOOK_MAX_REQ_PER_MIN: '600' } });

    let n = 0;
    const inFlight: Promise<void>[] = [];
    const load = setInterval(() => {
      const ref = `outage-${n}`;
      inFlight.push(lab.relay.post(faultSignal(ref, n++)).then(
        (result) => { posted.push({ ref, ...result, at: Date.now() }); },
        () => { posted.push({ ref, status: 0, id: null, at: Date.now() }); },
      ));
    }, POST_EVERY_MS);
    try {
      await new Promise((resolve) => setTimeout(resolve, LOAD_MARGIN_MS));
      await lab.postgres.stop();
      stoppedAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS / 2));
      const ready = await fetch(`${lab.forwarders[0].url}/ready`);
      readyDuringOutage = { status: ready.status, body: await ready.text() };
      await new Promise((resolve) => setTimeout(resolve, stoppedAt + OUTAGE_MS - Date.now()));
      restartingAt = Date.now();
      await lab.postgres.start();
      await new Promise((resolve) => setTimeout(resolve, LOAD_MARGIN_MS));
    } finally {
      clearInterval(load);
      await Promise.all(inFlight);
    }
  }), 120_000);
  afterAll(() => lab.shutdown(), 60_000);

  it('accepts every signal and keeps delivering while Postgres is down', lab.watch(async () => {
    expect(posted.filter((p) => p.status !== 202)).toEqual([]);
    const duringOutage = lab.destination.arrivals.filter((a) => a.at > stoppedAt && a.at < restartingAt);
    expect(duringOutage.length).toBeGreaterThan(0);
    // /ready tells an operator what is wrong, while delivery goes on.
    expect(readyDuringOutage?.status).toBe(503);
    expect(readyDuringOutage?.body).toMatch(/postgres/i);
  }));

  it('delivers the signals posted during the outage before Postgres is back', lab.watch(async () => {
    const postedInOutage = posted.filter((p) => p.id && p.at > stoppedAt && p.at < restartingAt - DELIVERY_SLACK_MS);
    expect(postedInOutage.length).toBeGreaterThan(20);
    const late = postedInOutage.filter((p) => !lab.destination.arrivalsOf(p.id!).some((a) => a.at < restartingAt && a.status === 200));
    expect(late.map((p) => p.ref)).toEqual([]);
  }));

  it('writes every audit row once Postgres is back', lab.watch(async () => {
    const ids = accepted();
    await waitFor(() => ids.every((id) => lab.destination.deliveredKeys().has(id)), 30_000, 'every accepted signal delivered');
    expect(keyMismatches(lab.destination.arrivals, new Map(posted.filter((p) => p.id).map((p) => [p.ref, p.id!])))).toEqual([]);

    await waitFor(async () => (await lab.auditOutboxLength()) === 0, 30_000, 'the audit outbox to drain');
    await waitFor(() => allInStatus(lab.postgres.databaseUrl, ids, 'forwarded'), 30_000, 'status forwarded for every signal');
    const rows = await lab.audit(ids);
    const withoutDeliveredRow = ids.filter((id) => !rows.get(id)!.deliveries.some((d) => d.http_status === 200));
    expect(withoutDeliveredRow).toEqual([]);
    expect(lab.unexpectedExits()).toEqual([]);
  }), 90_000);
});

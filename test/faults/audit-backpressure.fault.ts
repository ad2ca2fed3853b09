/**
 * Fault: Postgres stays down until the audit outbox reaches a small AUDIT_OUTBOX_MAX (issue 8).
 * Ingest must turn to 503 + Retry-After at the cap (and say why on /ready: it is not ready while
 * it refuses), lose no signal it answered 202, and once Postgres is back write every accepted
 * signal's row exactly once and accept signals again.
 */
import { waitFor } from '../support/helpers';
import { allInStatus, rowCounts } from './support/audit-reader';
import { FaultLab } from './support/fault-lab';
import { keyMismatches } from './support/one-key-per-signal';
import { faultSignal, type PostResult } from './support/relay-client';

const AUDIT_OUTBOX_MAX = 40;
/** Each signal queues at most two audit records here (its decision, its one delivery): the cap cannot come before this many. */
const RECORDS_PER_SIGNAL = 2;
/** A bound on the posts, so a relay that never pushes back fails the test instead of hanging it. */
const MAX_POSTS = 400;
/** Posts after the first 503 while Postgres is still down: every one of them must be refused too. */
const POSTS_AT_CAP = 5;

describe('fault: back-pressure while Postgres is down (AUDIT_OUTBOX_MAX)', () => {
  const lab = new FaultLab('audit-backpressure');
  beforeAll(() => lab.start({ env: { AUDIT_OUTBOX_MAX: String(AUDIT_OUTBOX_MAX) } }), 120_000);
  afterAll(() => lab.shutdown(), 60_000);

  it('answers 503 at the cap, loses no 202, and writes every row once Postgres is back', lab.watch(async () => {
    await lab.postgres.stop();

    // One signal after another until ingest refuses one.
    const idOfRef = new Map<string, string>();
    let refusal: PostResult | null = null;
    for (let n = 0; n < MAX_POSTS && !refusal; n++) {
      const ref = `backpressure-${n}`;
      const result = await lab.relay.post(faultSignal(ref, n));
      if (result.status === 202) idOfRef.set(ref, result.id!);
      else if (result.status === 503) refusal = result;
      else throw new Error(`POST /webhook/in answered ${result.status} (${result.message}) with Postgres down; expected 202 or 503`);
    }
    const accepted = [...idOfRef.values()];
    expect(refusal).not.toBeNull();
    expect(refusal!.message).toMatch(/AUDIT_OUTBOX_MAX/);
    expect(Number(refusal!.retryAfter)).toBeGreaterThan(0);
    // The cap, not something earlier: the outbox is full, and it took at least cap / 2 signals to fill it.
    expect(await lab.auditOutboxLength()).toBeGreaterThanOrEqual(AUDIT_OUTBOX_MAX);
    expect(accepted.length).toBeGreaterThanOrEqual(AUDIT_OUTBOX_MAX / RECORDS_PER_SIGNAL);

    // Refusing is not being ready: /ready of ingest says why, beside the Postgres it cannot reach.
    const ready = await lab.relay.ready();
    expect(ready.status).toBe(503);
    expect(ready.body.failing?.config).toMatch(/AUDIT_OUTBOX_MAX/);
    expect(ready.body.failing?.postgres).toBeDefined();

    // At the cap it stays: while Postgres is down, nothing more is accepted.
    for (let n = 0; n < POSTS_AT_CAP; n++) {
      const result = await lab.relay.post(faultSignal(`at-cap-${n}`, n));
      expect({ status: result.status, retryAfter: Number(result.retryAfter) > 0 }).toEqual({ status: 503, retryAfter: true });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    // Delivery went on meanwhile: Postgres holds only the audit trail.
    await waitFor(() => accepted.every((id) => lab.destination.deliveredKeys().has(id)), 30_000, 'every accepted signal delivered');

    await lab.postgres.start();
    await waitFor(async () => (await lab.auditOutboxLength()) === 0, 60_000, 'the audit outbox to drain');
    await waitFor(() => allInStatus(lab.postgres.databaseUrl, accepted, 'forwarded'), 30_000, 'status forwarded for every accepted signal');
    // Every 202 has its row exactly once, with its one delivery, written once.
    const counts = await rowCounts(lab.postgres.databaseUrl, accepted);
    expect(accepted.filter((id) => counts.signals.get(id) !== 1)).toEqual([]);
    expect(accepted.filter((id) => counts.deliveries.get(id) !== 1)).toEqual([]);
    expect(keyMismatches(lab.destination.arrivals, idOfRef)).toEqual([]);
    expect(lab.destination.arrivals).toHaveLength(accepted.length);

    // And ingest takes signals again, and says it is ready.
    const again = await lab.relay.postUntilAccepted(faultSignal('after-outage', 0), 30_000);
    await waitFor(() => lab.destination.deliveredKeys().has(again), 30_000, 'the signal accepted after the outage delivered');
    await waitFor(async () => (await lab.relay.ready()).status === 200, 15_000, 'ingest ready again');
    console.log(`audit back-pressure: ${JSON.stringify({ outboxMax: AUDIT_OUTBOX_MAX, accepted: accepted.length, refusedAtCap: 1 + POSTS_AT_CAP, rowsWritten: counts.signals.size, retryAfter: refusal!.retryAfter })}`);
    expect(lab.unexpectedExits()).toEqual([]);
  }), 180_000);
});

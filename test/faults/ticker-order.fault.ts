/**
 * Fault: per-ticker order through faults (issue 14, item 1). For one ticker the destination must
 * receive signals in the order ingest acknowledged them, a signal only after every earlier signal
 * of its ticker has ended, with 2 approvers and 3 forwarders at their default concurrency, through
 * retries (503, 500, 408), 429 + Retry-After, the rate cap, and then a SIGKILLed forwarder (test 1)
 * or a Redis crash (test 2). Several tickers, each an alternating BUY/SELL series posted one after
 * another (each after the previous one's acknowledgement), the tickers at once. Some entries never
 * reach the destination (stale, or refused by it for good), so the SELL after them must find no
 * position (SELL_POLICY=open_position); one SELL is refused by the destination, so the position it
 * would have closed stays open for the next pair.
 */
import { redisKeys } from '@tsp/core';
import { waitFor } from '../support/helpers';
import { allEnded } from './support/audit-reader';
import type { Answer, Arrival } from './support/destination';
import { FaultLab, KEY_PREFIX } from './support/fault-lab';
import { keyMismatches } from './support/one-key-per-signal';
import { senderOf } from './support/socket-owner';
import { expectedOutcomes, orderViolations, type PlannedSignal } from './support/ticker-order';
import { FAULT_TICKERS } from './support/topn-publisher';

const TICKERS = FAULT_TICKERS;
/** Per ticker: BUY, SELL, BUY, … ending with a SELL, so every position is closed again at the end. */
const PER_TICKER = 10;
/** Every answer comes this late, so requests are in flight when a replica dies or Redis does. */
const ANSWER_DELAY_MS = 250;
/** A request younger than this when its sender is killed is surely cut off (its answer is ≥ 130 ms away). */
const YOUNG_MS = 120;
const CAP_PER_MIN = 600;

const OK: Answer = { status: 200 };
/** Scripted failures of the first requests of a signal, by the signal's place; a signal's later requests succeed. */
const TRANSIENT: Answer[][] = [
  [],
  [{ status: 503 }],
  [{ status: 429, headers: { 'retry-after': '1' } }],
  [],
  [{ status: 500 }, { status: 500 }],
  [{ status: 408 }],
];

/** Signal i of ticker t in a round: its side, its scripted answers, and whether it is a stale entry. */
function plan(round: string, t: number, i: number): PlannedSignal {
  const side = i % 2 === 0 ? 'BUY' : 'SELL';
  // Entries the destination never gets (stale) or refuses for good (422); a SELL it refuses (t = 2).
  const stale = side === 'BUY' && i === 4 && t % 2 === 0;
  const refused = (side === 'BUY' && i === 6 && t % 2 === 1) || (side === 'SELL' && i === 7 && t === 2);
  return {
    ref: `${round}-${TICKERS[t]}-${i}`,
    ticker: TICKERS[t],
    side,
    stale,
    answers: [...TRANSIENT[(i + t) % TRANSIENT.length], refused ? { status: 422 } : OK],
  };
}

function bodyOf(signal: PlannedSignal, price: number): Record<string, unknown> {
  return {
    ticker: signal.ticker,
    action: signal.side === 'BUY' ? 'buy' : 'sell',
    price,
    fault_ref: signal.ref,
    // Fired an hour ago, allowed a minute of lag: refused as stale, never sent.
    ...(signal.stale ? { time: new Date(Date.now() - 3600_000).toISOString(), max_lag: 60 } : {}),
  };
}

describe('fault: per-ticker order through retries, the cap, a killed forwarder and a Redis crash', () => {
  const lab = new FaultLab('ticker-order');
  beforeAll(() => lab.start({
    approvers: 2,
    forwarders: 3,
    env: {
      DEST_WEBHOOK_MAX_REQ_PER_MIN: String(CAP_PER_MIN),
      SELL_POLICY: 'open_position',
      // A killed replica's jobs are retaken about 5 s later (a short lock, still well above a slow event loop's stalls).
      JOB_LOCK_MS: '5000',
    },
  }), 120_000);
  afterAll(() => lab.shutdown(), 60_000);

  const plans = new Map<string, PlannedSignal>();
  /** Which forwarder process sent each request (read from /proc while the request is open). */
  const senders = new Map<Arrival, number | null>();

  beforeAll(() => {
    lab.destination.respond = (arrival, previous) => {
      senders.set(arrival, senderOf(arrival.senderPort, lab.destination.port, lab.forwarders.map((f) => f.pid)));
      const signal = plans.get(String(arrival.body.fault_ref));
      if (!signal) return { status: 200, delayMs: ANSWER_DELAY_MS };
      // Requests a crash cut off (never answered) use up no scripted answer.
      const made = previous.filter((p) => p.key === arrival.key && p.status !== undefined).length;
      return { ...signal.answers[Math.min(made, signal.answers.length - 1)], delayMs: ANSWER_DELAY_MS };
    };
  });

  /**
   * Posts every ticker's series, each signal after the previous one's acknowledgement; the tickers
   * at once. With a `hold`, each series stops after `hold.after` signals until `hold.until` resolves.
   */
  function postRound(round: string, hold?: { after: number; until: Promise<void> }): { signals: PlannedSignal[][]; done: Promise<void>; reposts: () => number } {
    let reposts = 0;
    const signals = TICKERS.map((_, t) => Array.from({ length: PER_TICKER }, (__, i) => plan(round, t, i)));
    for (const signal of signals.flat()) plans.set(signal.ref, signal);
    const done = Promise.all(signals.map(async (series, t) => {
      for (const [i, signal] of series.entries()) {
        if (hold && i === hold.after) await hold.until;
        // The ref is the Idempotency-Key: a post whose answer a crash cut off is sent again and
        // answered with the same signal, so the ack order is the order of the posts.
        signal.id = await lab.relay.postKeyedUntilAccepted(bodyOf(signal, 10 + t + i / 100), signal.ref, 60_000, () => { reposts++; });
      }
    })).then(() => undefined);
    return { signals, done, reposts: () => reposts };
  }

  /** Everything issue 14 promises about one round, checked per ticker; answers the figures. */
  async function checkRound(round: string, signals: PlannedSignal[][]) {
    const all = signals.flat();
    const ids = all.map((s) => s.id!);
    expect(new Set(ids).size).toBe(ids.length);
    await waitFor(() => allEnded(lab.postgres.databaseUrl, ids), 120_000, `every signal of round ${round} to end`);
    const rows = await lab.audit(ids);
    const arrivals = lab.destination.arrivals.filter((a) => String(a.body.fault_ref).startsWith(`${round}-`));

    for (const series of signals) {
      const outcomes = expectedOutcomes(series);
      const ticker = series[0].ticker;
      // Order: ack order, each signal's requests unbroken, each sent only after the one before ended.
      expect({ ticker, violations: orderViolations(lab.destination.arrivals, series.map((s) => s.id!)) }).toEqual({ ticker, violations: [] });
      // Nothing lost: each accepted signal ended as the position rule says, and the destination
      // saw exactly the signals the trail says it was sent.
      expect(series.map((s) => ({ ref: s.ref, status: rows.get(s.id!)?.status, reason: rows.get(s.id!)?.reason ?? null })))
        .toEqual(series.map((s) => ({ ref: s.ref, ...outcomes.get(s.ref)! })));
      for (const signal of series) {
        const requests = lab.destination.arrivalsOf(signal.id!);
        const outcome = outcomes.get(signal.ref)!;
        if (outcome.status === 'rejected') expect({ ref: signal.ref, requests: requests.length }).toEqual({ ref: signal.ref, requests: 0 });
        if (outcome.status === 'forwarded') expect({ ref: signal.ref, delivered: requests.some((r) => r.status === 200) }).toEqual({ ref: signal.ref, delivered: true });
        if (outcome.status === 'dead') expect({ ref: signal.ref, refused: requests.some((r) => r.status === 422), delivered: requests.some((r) => r.status === 200) }).toEqual({ ref: signal.ref, refused: true, delivered: false });
      }
      // The lane holds nothing once every signal of the ticker ended.
      expect(await lab.redisCommands.zcard(redisKeys(KEY_PREFIX).lane(ticker))).toBe(0);
    }
    // Any repeat carries its own signal's Idempotency-Key.
    expect(keyMismatches(arrivals, new Map(all.map((s) => [s.ref, s.id!])))).toEqual([]);

    // A signal sent gets one request per scripted answer; more are repeats (at least once), fewer would be a loss.
    const scripted = (s: PlannedSignal) => (rows.get(s.id!)!.status === 'rejected' ? 0 : s.answers.length);
    const extraRequests = all.map((s) => ({ id: s.id!, ref: s.ref, extra: lab.destination.arrivalsOf(s.id!).length - scripted(s) })).filter((e) => e.extra !== 0);
    const statusCount = (status: string) => all.filter((s) => rows.get(s.id!)!.status === status).length;
    const figures = {
      accepted: all.length,
      forwarded: statusCount('forwarded'),
      rejected: statusCount('rejected'),
      dead: statusCount('dead'),
      requests: arrivals.length,
      retried: arrivals.filter((a) => a.status !== undefined && a.status !== 200 && a.status !== 422).length,
      repeated: extraRequests.reduce((sum, e) => sum + Math.max(0, e.extra), 0),
      deliveredTwice: all.filter((s) => lab.destination.arrivalsOf(s.id!).filter((a) => a.status === 200).length > 1).length,
    };
    return { figures, extraRequests };
  }

  it('keeps every ticker in ack order while a forwarder is SIGKILLed mid-request and replaced', lab.watch(async () => {
    const { signals, done } = postRound('kill');

    // Kill the replica that holds a young request (its answer still ≥ 130 ms away), once some deliveries are done.
    const victim = await waitFor(() => {
      if (lab.destination.arrivals.filter((a) => a.status === 200).length < 8) return null;
      const young = lab.destination.arrivals.find((a) => a.answeredAt === undefined && Date.now() - a.at < YOUNG_MS && senders.get(a));
      return young ? lab.forwarders.find((f) => f.pid === senders.get(young)) ?? null : null;
    }, 60_000, 'a young request in flight');
    const victimPid = victim.pid;
    await victim.kill();
    const cutOff = lab.destination.arrivals.filter((a) => senders.get(a) === victimPid && a.answeredAt === undefined).map((a) => a.key!);
    expect(cutOff.length).toBeGreaterThan(0);
    await lab.addForwarder();

    await done;
    const { figures, extraRequests } = await checkRound('kill', signals);
    // The cut-off requests were not lost: each was sent again, with the same key, and answered.
    for (const key of cutOff) {
      const requests = lab.destination.arrivalsOf(key);
      expect(requests.length).toBeGreaterThanOrEqual(2);
      expect(requests[requests.length - 1].status).toBeDefined();
    }
    // Repeats only where the killed replica had the signal in hand (at least once, never more than that).
    const killedHad = new Set(lab.destination.arrivals.filter((a) => senders.get(a) === victimPid).map((a) => a.key));
    expect(extraRequests.filter((e) => e.extra < 0 || !killedHad.has(e.id))).toEqual([]);
    console.log(`ticker order, forwarder SIGKILLed (pid ${victimPid}, ${cutOff.length} request(s) cut off): ${JSON.stringify(figures)}`);
    expect(lab.unexpectedExits()).toEqual([]);
  }), 180_000);

  it('keeps every ticker in ack order through a Redis crash and restart', lab.watch(async () => {
    const before = lab.destination.arrivals.length;
    let crashed!: () => void;
    // The second half of each series is posted while Redis is down and coming back.
    const { signals, done, reposts } = postRound('redis', { after: PER_TICKER / 2, until: new Promise<void>((resolve) => { crashed = resolve; }) });

    await waitFor(() => lab.destination.arrivals.slice(before).filter((a) => a.status === 200).length >= 8
      && lab.destination.arrivals.slice(before).some((a) => a.answeredAt === undefined), 60_000, 'deliveries under way');
    const deliveredBefore = lab.destination.arrivals.slice(before).filter((a) => a.status === 200).length;
    await lab.redis.kill();
    crashed();
    await lab.redis.start();
    const restartedAt = Date.now();

    await done;
    const { figures, extraRequests } = await checkRound('redis', signals);
    expect(lab.destination.arrivals.some((a) => a.at > restartedAt && String(a.body.fault_ref).startsWith('redis-'))).toBe(true);
    // No request is missing: every sent signal got at least its scripted requests.
    expect(extraRequests.filter((e) => e.extra < 0)).toEqual([]);
    console.log(`ticker order, Redis crashed and restarted (${deliveredBefore} delivered before it, ${reposts()} post(s) sent again): ${JSON.stringify(figures)}`);
    expect(lab.unexpectedExits()).toEqual([]);
  }), 180_000);
});

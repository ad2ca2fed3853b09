import type { Answer, Arrival } from './destination';

/**
 * Per-ticker order as the destination sees it (issue 14): for one ticker, the requests come in
 * the order ingest acknowledged the signals, each signal's requests (its attempts, and a repeat
 * after a crash) in one unbroken block, and a signal's first request only after the request that
 * ended the signal before it was answered. Signals never sent (rejected) are simply absent.
 */

/** One signal of a ticker, as the test scripted it and the relay acknowledged it. */
export interface PlannedSignal {
  /** The post's own name (passthrough field `fault_ref`, also its Idempotency-Key at ingest). */
  ref: string;
  ticker: string;
  side: 'BUY' | 'SELL';
  /** An entry whose `time` is an hour old with `max_lag` 60: the approver refuses it (`stale`). */
  stale: boolean;
  /**
   * The destination's answers to this signal's requests, in turn (the last one repeats):
   * transient failures first, then 200, or 422 for a signal the destination refuses for good.
   */
  answers: Answer[];
  /** The id of the 202 (set once acknowledged). */
  id?: string;
}

export interface Outcome {
  status: 'forwarded' | 'rejected' | 'dead';
  reason: string | null;
}

/** Whether the destination refuses the signal for good (its final answer is a 4xx other than 408/429). */
export function refusedForGood(signal: PlannedSignal): boolean {
  const final = signal.answers[signal.answers.length - 1].status;
  return final >= 400 && final < 500 && final !== 408 && final !== 429;
}

/**
 * Where each signal of one ticker must end, in ack order, under SELL_POLICY=open_position with no
 * position open at the start: a BUY opens the position when it is delivered; a SELL passes iff the
 * position is open at its turn (so iff the BUY before it was delivered, or a SELL in between died
 * leaving it open), and closes it when delivered.
 */
export function expectedOutcomes(signals: PlannedSignal[]): Map<string, Outcome> {
  const outcomes = new Map<string, Outcome>();
  let open = false;
  for (const signal of signals) {
    if (signal.side === 'BUY') {
      if (signal.stale) outcomes.set(signal.ref, { status: 'rejected', reason: 'stale' });
      else if (refusedForGood(signal)) outcomes.set(signal.ref, { status: 'dead', reason: 'permanent_error' });
      else {
        outcomes.set(signal.ref, { status: 'forwarded', reason: null });
        open = true;
      }
    } else if (!open) {
      outcomes.set(signal.ref, { status: 'rejected', reason: 'no_open_position' });
    } else if (refusedForGood(signal)) {
      outcomes.set(signal.ref, { status: 'dead', reason: 'permanent_error' });
    } else {
      outcomes.set(signal.ref, { status: 'forwarded', reason: null });
      open = false;
    }
  }
  return outcomes;
}

/**
 * Every breach of per-ticker order in the destination's requests for one ticker's signals, given
 * their ids in ack order; empty when the order held. Reads `arrivals` in the order the destination
 * recorded them.
 */
export function orderViolations(arrivals: Arrival[], ackOrder: string[]): string[] {
  const position = new Map(ackOrder.map((id, i) => [id, i]));
  const requests = arrivals.filter((a) => a.key !== undefined && position.has(a.key));
  const blocks: Arrival[][] = [];
  for (const request of requests) {
    const last = blocks[blocks.length - 1];
    if (last && last[0].key === request.key) last.push(request);
    else blocks.push([request]);
  }
  const name = (key: string | undefined) => `#${position.get(key!)} (${key})`;
  const violations: string[] = [];
  const seen = new Set<string>();
  for (let b = 0; b < blocks.length; b++) {
    const key = blocks[b][0].key!;
    if (seen.has(key)) violations.push(`the requests of ${name(key)} are split by another signal's`);
    seen.add(key);
    if (b === 0) continue;
    const before = blocks[b - 1];
    const previousKey = before[0].key!;
    if (position.get(key)! < position.get(previousKey)!) violations.push(`${name(key)} was sent after ${name(previousKey)}, which ingest acknowledged later`);
    const ending = before[before.length - 1];
    if (ending.answeredAt === undefined) violations.push(`${name(key)} was sent after ${name(previousKey)}'s last request, which was never answered`);
    else if (blocks[b][0].at < ending.answeredAt) violations.push(`${name(key)} was sent ${ending.answeredAt - blocks[b][0].at} ms before ${name(previousKey)}'s last answer`);
  }
  return violations;
}

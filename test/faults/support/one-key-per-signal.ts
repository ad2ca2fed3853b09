import type { Arrival } from './destination';

/**
 * Every request that reached the destination carries, as its Idempotency-Key, the id the relay
 * gave the signal it belongs to: the body's `fault_ref` says which post it came from. Returns the
 * mismatches (empty when every retry and replay kept its signal's key).
 */
export function keyMismatches(arrivals: Arrival[], idOfRef: Map<string, string>): Array<{ ref: unknown; expected: string | undefined; got: string | undefined }> {
  return arrivals
    .map((a) => ({ ref: a.body.fault_ref, expected: idOfRef.get(String(a.body.fault_ref)), got: a.key }))
    .filter((m) => m.expected === undefined || m.expected !== m.got);
}

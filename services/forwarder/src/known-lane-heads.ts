/**
 * Signals this forwarder learnt head their ticker's lane: the script that ends a signal answers
 * which one heads the lane after it, and heading lasts until that signal ends (later signals join
 * at the end). When such an entry's job runs here, it need not ask the lane again: in a burst, one
 * ticker's signals are rarely heads when approved, so this spares most deliveries a round trip.
 * A job run elsewhere leaves its id here unused, so the set is capped, oldest dropped first.
 */
export class KnownLaneHeads {
  private readonly ids = new Set<string>();

  constructor(private readonly cap = 10_000) {}

  learn(signalId: string | null): void {
    if (!signalId || this.ids.has(signalId)) return;
    if (this.ids.size >= this.cap) this.ids.delete(this.ids.values().next().value as string);
    this.ids.add(signalId);
  }

  /** Whether the signal was learnt to head its lane; forgotten once asked (its run decides from here). */
  take(signalId: string): boolean {
    return this.ids.delete(signalId);
  }

  get size(): number {
    return this.ids.size;
  }
}

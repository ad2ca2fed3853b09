import { destinationView, urlHostAllowed, type DestinationChange, type DestinationTarget, type Logger } from '@tsp/core';
import type { DestinationSettingStore, StoredDestination } from '@tsp/db';
import type { Destination } from './deliver';

/** A change made on one replica reaches the others within this. */
export const DESTINATION_SYNC_MS = 2000;

/** The destination in force, as GET /admin/destination shows it: never the URL's path or query. */
export interface DestinationState {
  source: 'environment' | 'runtime';
  origin: string;
  fingerprint: string;
  timeout_ms: number;
  updated_at: string | null;
}

/**
 * Where this forwarder delivers: the environment's destination until an operator sets another at
 * runtime (POST /admin/destination), then that one, on every replica within DESTINATION_SYNC_MS.
 * It is read from Postgres before the first delivery, so a forwarder restarted during an outage
 * waits rather than send trades to a destination the operator moved them away from; later, a
 * Postgres outage keeps the last one read.
 */
export class RuntimeDestination {
  private stored: StoredDestination | null = null;
  private timer: NodeJS.Timeout | null = null;
  private loaded = false;
  /** A stored destination DEST_ALLOWED_HOSTS no longer allows: nothing is delivered until it is changed or reset. */
  private refused: string | null = null;

  constructor(
    private readonly store: DestinationSettingStore,
    private readonly environment: DestinationTarget,
    private readonly allowedHosts: readonly string[],
    private readonly destination: Destination,
    private readonly logger: Logger,
  ) {}

  /**
   * Reads the stored destination, retrying until Postgres answers and the destination is one
   * DEST_ALLOWED_HOSTS allows (or is reset); then keeps it in step.
   */
  async load(stopped: () => boolean): Promise<boolean> {
    for (let tries = 0; !stopped(); tries++) {
      try {
        this.apply(await this.store.read());
        this.loaded = true;
        if (this.refused) {
          await new Promise((resolve) => setTimeout(resolve, DESTINATION_SYNC_MS));
          continue;
        }
        this.timer = setInterval(() => void this.sync(), DESTINATION_SYNC_MS);
        return true;
      } catch (error) {
        // Prisma's messages quote the calling code at length; its last line says what happened.
        const reason = (error as Error).message.trim().split('\n').pop()?.slice(0, 300);
        if (tries === 0) this.logger.error('cannot read the runtime destination from Postgres; deliveries wait until it can be read', { error: reason });
        await new Promise((resolve) => setTimeout(resolve, DESTINATION_SYNC_MS));
      }
    }
    return false;
  }

  /** Null while deliveries may go; else why they wait (for /ready, and for the worker's gate). */
  waitingReason(): string | null {
    if (!this.loaded) return 'waiting to read the runtime destination from Postgres';
    return this.refused;
  }

  /** Stores a change (over the destination stored now, read afresh: another replica may have just changed it) and applies it here. */
  async change(change: DestinationChange): Promise<{ before: DestinationState; after: DestinationState }> {
    const before = this.state();
    const current = (await this.store.read()) ?? this.environment;
    this.apply(await this.store.write({ url: change.url ?? current.url, timeoutMs: change.timeout_ms ?? current.timeoutMs }));
    return { before, after: this.state() };
  }

  /** Forgets the destination set at runtime: the environment's applies again, on every replica. */
  async reset(): Promise<{ before: DestinationState; after: DestinationState }> {
    const before = this.state();
    await this.store.clear();
    this.apply(null);
    return { before, after: this.state() };
  }

  state(): DestinationState {
    const target = this.target();
    return {
      source: this.stored ? 'runtime' : 'environment',
      ...destinationView(target.url),
      timeout_ms: target.timeoutMs,
      updated_at: this.stored?.updatedAt ?? null,
    };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private target(): DestinationTarget {
    return this.stored ?? this.environment;
  }

  private async sync(): Promise<void> {
    try {
      this.apply(await this.store.read());
    } catch {
      // Postgres down: the last destination read stays in force.
    }
  }

  private apply(stored: StoredDestination | null): void {
    // Checked again on every read: an operator who took a host off DEST_ALLOWED_HOSTS (after a
    // token leaked) must not see trades go on flowing to it.
    if (stored && !urlHostAllowed(stored.url, this.allowedHosts)) {
      const reason = `the runtime destination ${destinationView(stored.url).origin} is not in DEST_ALLOWED_HOSTS: nothing is delivered until it is changed or reset (DELETE /admin/destination)`;
      if (this.refused !== reason) this.logger.error(reason);
      this.refused = reason;
      return;
    }
    this.refused = null;
    const before = this.target();
    this.stored = stored;
    const after = this.target();
    if (before.url === after.url && before.timeoutMs === after.timeoutMs) return;
    this.destination.retarget(after);
    this.logger.warn('destination changed', { before: { ...destinationView(before.url), timeout_ms: before.timeoutMs }, after: { ...destinationView(after.url), timeout_ms: after.timeoutMs } });
  }
}

import type IORedis from 'ioredis';
import { redisKeys, SIGNAL_EVENTS_FIELD, type Logger } from '@tsp/core';
import { EventSubscription } from './event-subscription';
import { HEARTBEAT_FRAME, sseFrame } from './sse-frames';

/** How long one XREAD waits for entries before looking again (and noticing that nobody listens any more). */
const BLOCK_MS = 5000;
const READ_COUNT = 100;
const HEARTBEAT_MS = 15_000;
const RETRY_MS = 1000;
/** Frames one browser may have waiting; beyond, it is cut off and catches up on reconnecting. */
const MAX_QUEUED_FRAMES = 600;

/** The SSE event each stream entry becomes. */
export const CHANGES_EVENT = 'signals';

/** A Redis Stream entry as XREAD/XRANGE answer it. */
export type StreamEntry = [id: string, fields: string[]];

/** An entry as the browser's event: the changes are sent as stored, never parsed or re-encoded. */
export function frameOfEntry([id, fields]: StreamEntry): string {
  const at = fields.indexOf(SIGNAL_EVENTS_FIELD);
  return sseFrame(CHANGES_EVENT, at >= 0 && at % 2 === 0 ? fields[at + 1] : '[]', id);
}

/**
 * The console's live feed in one ingest process: one blocking XREAD on a connection of its own,
 * fanned out in memory to every connected browser, so a thousand tabs cost Redis what one does.
 * It reads only while someone listens. At most `maxSubscribers` browsers at once (each holds a
 * socket and a queue); beyond, subscribe() answers null.
 */
export class SignalEventHub {
  private readonly subscribers = new Set<EventSubscription>();
  private readonly key: string;
  private reader: IORedis | null = null;
  private reading = false;
  private closed = false;
  /** The last entry the reader has passed on; live frames come after it. */
  private position = '0-0';
  private started: Promise<void> | null = null;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: IORedis,
    /** Makes the reader's own connection (a blocking read holds a connection for its whole wait). */
    private readonly connect: () => IORedis,
    prefix: string,
    readonly maxSubscribers: number,
    private readonly logger: Logger,
  ) {
    this.key = redisKeys(prefix).signalEvents;
  }

  get size(): number {
    return this.subscribers.size;
  }

  /**
   * A new browser's subscription, and the stream position its live frames start after; null when
   * the process serves its maximum already. Throws when Redis cannot say where the stream is.
   */
  async subscribe(): Promise<{ subscription: EventSubscription; position: string } | null> {
    if (this.closed || this.subscribers.size >= this.maxSubscribers) return null;
    const subscription = new EventSubscription(MAX_QUEUED_FRAMES, (s) => this.leave(s));
    this.subscribers.add(subscription);
    try {
      await this.startReading();
    } catch (error) {
      subscription.end();
      throw error;
    }
    return { subscription, position: this.position };
  }

  /** Entries after `id` (exclusive), oldest first, at most `count`. */
  async entriesAfter(id: string, count: number): Promise<StreamEntry[]> {
    return this.redis.xrange(this.key, `(${id}`, '+', 'COUNT', count);
  }

  /** Whether the entry `id` is still in the stream (if not, what followed it may have been trimmed too). */
  async holds(id: string): Promise<boolean> {
    return (await this.redis.xrange(this.key, id, id)).length > 0;
  }

  /** Ends every browser's stream (they reconnect elsewhere) and stops reading. */
  async close(): Promise<void> {
    this.closed = true;
    for (const subscription of [...this.subscribers]) subscription.end();
    this.stopReading();
  }

  private leave(subscription: EventSubscription): void {
    this.subscribers.delete(subscription);
    if (this.subscribers.size === 0) this.stopReading();
  }

  /** Starts the reader at the stream's current end, unless it runs already. */
  private startReading(): Promise<void> {
    if (this.reading && this.started) return this.started;
    this.reading = true;
    this.started = (async () => {
      const [last] = (await this.redis.xrevrange(this.key, '+', '-', 'COUNT', 1)) as StreamEntry[];
      this.position = last ? last[0] : '0-0';
      this.reader = this.connect();
      this.heartbeat = setInterval(() => this.broadcast(HEARTBEAT_FRAME), HEARTBEAT_MS);
      void this.readLoop(this.reader);
    })();
    this.started.catch(() => this.stopReading());
    return this.started;
  }

  private stopReading(): void {
    this.reading = false;
    this.started = null;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    // Disconnecting ends a blocked XREAD at once.
    this.reader?.disconnect();
    this.reader = null;
  }

  private async readLoop(reader: IORedis): Promise<void> {
    while (this.reader === reader) {
      try {
        const answer = await reader.xread('COUNT', READ_COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', this.key, this.position);
        if (this.reader !== reader) return;
        for (const entry of answer?.[0]?.[1] ?? []) {
          this.position = entry[0];
          this.broadcast(frameOfEntry(entry), entry[0]);
        }
      } catch (error) {
        if (this.reader !== reader) return;
        // Browsers stay connected (heartbeats go on) and get what they missed once Redis is back.
        this.logger.warn('reading the live feed failed; trying again', { error: (error as Error).message });
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  private broadcast(frame: string, id?: string): void {
    for (const subscription of this.subscribers) subscription.push(frame, id);
  }
}

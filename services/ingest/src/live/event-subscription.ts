import { compareStreamIds } from './sse-frames';

/**
 * One browser's stream of SSE frames, as the response's body iterates it. Frames wait in a bounded
 * queue while the browser reads; one that falls this far behind is cut off, and its EventSource
 * reconnects with Last-Event-ID and catches up from the stream, so a stalled tab costs no memory.
 */
export class EventSubscription implements AsyncIterableIterator<string> {
  private queue: { frame: string; id?: string }[] = [];
  private waiting: ((result: IteratorResult<string>) => void) | null = null;
  private ended = false;
  /** Live frames with an id at or before this were already sent (from the catch-up). */
  private sentUpTo: string | null = null;

  constructor(private readonly maxQueued: number, private readonly onEnd: (subscription: EventSubscription) => void) {}

  /**
   * Frames to send before any live one (the greeting, a catch-up reaching `lastId`): live frames
   * queued meanwhile that the catch-up already holds are dropped, and so are later ones.
   */
  startWith(frames: string[], lastId: string | null): void {
    this.sentUpTo = lastId;
    const live = this.queue.filter((item) => !this.alreadySent(item.id));
    this.queue = [];
    for (const frame of frames) this.push(frame);
    for (const item of live) this.push(item.frame, item.id);
  }

  private alreadySent(id: string | undefined): boolean {
    return Boolean(id && this.sentUpTo && compareStreamIds(id, this.sentUpTo) <= 0);
  }

  /** A live frame (with its stream id) or a heartbeat. */
  push(frame: string, id?: string): void {
    if (this.ended || this.alreadySent(id)) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: frame, done: false });
      return;
    }
    this.queue.push({ frame, id });
    if (this.queue.length > this.maxQueued) this.end();
  }

  /** Ends the stream (the server stops, the browser fell behind, or it went away). */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.queue = [];
    if (this.waiting) this.waiting({ value: undefined, done: true });
    this.waiting = null;
    this.onEnd(this);
  }

  next(): Promise<IteratorResult<string>> {
    const item = this.queue.shift();
    if (item) return Promise.resolve({ value: item.frame, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => { this.waiting = resolve; });
  }

  /** The response stopped reading (the browser went away): leave the hub at once. */
  return(): Promise<IteratorResult<string>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<string> {
    return this;
  }
}

/**
 * One request to Finviz at a time, with a pause between the end of one and the start of the
 * next: pages of one scrape, a login and the export all pass through the same gate, so however
 * the work is triggered (timer, admin refresh, config change) Finviz never sees a burst.
 */
export class RequestGate {
  private tail: Promise<unknown> = Promise.resolve();
  private lastEndedAt = 0;

  /** @param gapMs pause between two requests, read before each one (the config can change). */
  constructor(private readonly gapMs: () => number) {}

  run<T>(request: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const turn = this.tail.then(async () => {
      const wait = this.lastEndedAt + this.gapMs() - Date.now();
      if (wait > 0) await sleep(wait, signal);
      signal?.throwIfAborted();
      try {
        return await request();
      } finally {
        this.lastEndedAt = Date.now();
      }
    });
    this.tail = turn.catch(() => undefined);
    return turn;
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * `load`, answered from its last result for `ms` after it settles, and shared by every caller while
 * it runs: a public route that costs several Redis calls costs them at most once per `ms`, however
 * often it is asked. A failure is not kept.
 */
export function cachedFor<T>(ms: number, load: () => Promise<T>): () => Promise<T> {
  let last: { value: T; at: number } | null = null;
  let running: Promise<T> | null = null;
  return () => {
    if (last && Date.now() - last.at < ms) return Promise.resolve(last.value);
    running ??= load().then(
      (value) => { last = { value, at: Date.now() }; running = null; return value; },
      (error) => { running = null; throw error; },
    );
    return running;
  };
}

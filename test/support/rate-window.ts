/**
 * The densest sliding window of request starts: for each start, how many starts fall in
 * [start, start + windowMs). A window holding the most starts always begins at a start, so this
 * checks every window that matters.
 */
export function densestWindow(starts: number[], windowMs = 60_000): { count: number; from: number } {
  const sorted = [...starts].sort((a, b) => a - b);
  let best = { count: 0, from: sorted[0] ?? 0 };
  let end = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (end < sorted.length && sorted[end] < sorted[i] + windowMs) end++;
    if (end - i > best.count) best = { count: end - i, from: sorted[i] };
  }
  return best;
}

/**
 * How far the starts ran ahead of a steady pace of one per spacingMs, at worst: the largest
 * (j − i)·spacing − (t_j − t_i) over every pair. One late timer shortens a single gap and
 * lengthens the next, so single gaps jitter; a limiter that lets extra requests through (after
 * losing its state, say) leads the pace by a whole spacing per extra request.
 */
export function leadOverPace(starts: number[], spacingMs: number): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let lead = 0;
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) lead = Math.max(lead, (j - i) * spacingMs - (sorted[j] - sorted[i]));
  }
  return lead;
}

// An open-loop load generator: request i is due at start + i / rate, whether or not earlier ones
// were answered. Unlike autocannon's rate mode (each connection fires its per-second quota
// back-to-back, then idles), this sends a steady stream, and latency is counted from the time a
// request was due, so a stalled server cannot hide its stall by slowing the sender.
const http = require('node:http');
const { nowMs, postJson } = require('./lib');

/**
 * POSTs body(i) to url at `rate` per second for `durationMs`. Resolves one sample per request:
 * { i, dueAt, sentAt, answeredAt, status, body } (answeredAt null and error set when it failed).
 */
async function pacedLoad(url, { rate, durationMs, body }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const total = Math.round((rate * durationMs) / 1000);
  const interval = 1000 / rate;
  const samples = [];
  const pending = [];
  const start = nowMs() + 20;
  let next = 0;
  await new Promise((resolve) => {
    const tick = () => {
      // Send everything due by now: a late timer sends a small batch rather than drifting.
      const now = nowMs();
      while (next < total && start + next * interval <= now) {
        const i = next++;
        const dueAt = start + i * interval;
        pending.push(
          postJson(url, body(i), agent).then(
            (res) => samples.push({ i, dueAt, ...res }),
            (error) => samples.push({ i, dueAt, sentAt: null, answeredAt: null, status: null, error: error.message }),
          ),
        );
      }
      if (next >= total) resolve();
      else setTimeout(tick, Math.max(0, Math.min(1, start + next * interval - nowMs())));
    };
    tick();
  });
  await Promise.all(pending);
  agent.destroy();
  return samples.sort((a, b) => a.i - b.i);
}

module.exports = { pacedLoad };

// When all four services share one machine (`pnpm start`), the edge must stay responsive while the
// workers catch up after a burst: TradingView gives up on a webhook not answered within 3 s and never
// sends it again, while a signal that waits a little longer in the queue is still delivered. So the
// workers run at a lower CPU priority than ingest. Niceness only matters when the CPU is contended;
// on an idle machine every service runs at full speed. Containers get their CPU from their own
// limits instead (compose, Kubernetes), so this applies to the local runners only.
const os = require('node:os');

/** Niceness per service (0 = the default priority, 19 = the lowest). */
const NICENESS = { ingest: 0, screener: 10, approver: 10, forwarder: 10 };

/** Lowers a started service's priority as above; a failure (an OS without it) only warns. */
function applyServicePriority(name, pid) {
  const niceness = NICENESS[name] ?? 0;
  if (!niceness) return;
  try {
    os.setPriority(pid, niceness);
  } catch (error) {
    process.stderr.write(`could not lower ${name}'s CPU priority (${error.message}); it competes with ingest\n`);
  }
}

module.exports = { NICENESS, applyServicePriority };

// The image's HEALTHCHECK: exits 0 when GET /health of the service this container runs answers
// 200, on the port the service's own configuration gives it. The service is the argument, or else
// what PID 1 runs (`node scripts/start-one.js <service>`); a container running anything else (the
// migration) has no service to check and is healthy.
const fs = require('node:fs');
const path = require('node:path');
const { SERVICES } = require('./load-env');

const TIMEOUT_MS = 4000;

function serviceOfPid1() {
  try {
    const argv = fs.readFileSync('/proc/1/cmdline', 'utf8').split('\0');
    const script = argv.findIndex((arg) => path.basename(arg) === 'start-one.js');
    return script >= 0 ? argv[script + 1] : null;
  } catch {
    return null;
  }
}

async function main() {
  const service = process.argv[2] ?? serviceOfPid1();
  if (!service) return 0;
  if (!SERVICES.includes(service)) {
    console.error(`healthcheck: unknown service "${service}" (one of ${SERVICES.join(', ')})`);
    return 2;
  }
  // The same port rule as the service itself (INGEST_PORT, ..., or the contract's default).
  const { loadConfig } = require(path.join(__dirname, '../packages/core/dist'));
  const port = loadConfig(process.env).ports[service];
  try {
    const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (response.ok) return 0;
    console.error(`healthcheck: ${service} /health answered ${response.status}`);
  } catch (error) {
    console.error(`healthcheck: ${service} on port ${port}: ${error.cause?.code ?? error.message}`);
  }
  return 1;
}

main().then((code) => process.exit(code));

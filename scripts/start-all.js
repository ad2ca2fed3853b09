// `pnpm start`: all four services in the foreground, each line tagged with its service.
// SIGINT/SIGTERM stop them all. A service that crashes is restarted (it loses nothing: its jobs
// stay in Redis and are retaken), after 1 s, doubling up to 30 s while it keeps crashing. A service
// stopped by its configuration (exit code 78, after one line naming the variable) stops them all:
// restarting it cannot help. The workers run at a lower CPU priority than ingest (cpu-priority.js).
const { spawn } = require('node:child_process');
const readline = require('node:readline');
const { SERVICES, loadEnv, serviceMain } = require('./load-env');
const { applyServicePriority } = require('./cpu-priority');

/** sysexits' EX_CONFIG, what packages/core's runService exits with on a configuration error. */
const CONFIG_ERROR_EXIT_CODE = 78;
const FIRST_RESTART_DELAY_MS = 1000;
const MAX_RESTART_DELAY_MS = 30_000;
/** A service that ran this long before crashing starts its restart delays afresh. */
const STABLE_AFTER_MS = 60_000;

loadEnv();
const mains = Object.fromEntries(SERVICES.map((name) => [name, serviceMain(name)]));
const children = new Map();
const restartDelay = Object.fromEntries(SERVICES.map((name) => [name, FIRST_RESTART_DELAY_MS]));
let stopping = false;

function tagLines(stream, tag, out) {
  readline.createInterface({ input: stream }).on('line', (line) => out.write(`${tag} ${line}\n`));
}

function start(name) {
  const child = spawn(process.execPath, [mains[name]], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  applyServicePriority(name, child.pid);
  const tag = `[${name.padEnd(9)}]`;
  tagLines(child.stdout, tag, process.stdout);
  tagLines(child.stderr, tag, process.stderr);
  children.set(name, child);
  const startedAt = Date.now();
  child.on('exit', (code, signal) => {
    children.delete(name);
    if (stopping) {
      if (children.size === 0) process.exit(process.exitCode ?? 0);
      return;
    }
    if (code === CONFIG_ERROR_EXIT_CODE) {
      process.stderr.write(`${tag} stopped by its configuration (see the line above); stopping everything\n`);
      process.exitCode = 1;
      stopAll('configuration error');
      return;
    }
    if (Date.now() - startedAt >= STABLE_AFTER_MS) restartDelay[name] = FIRST_RESTART_DELAY_MS;
    const delay = restartDelay[name];
    restartDelay[name] = Math.min(MAX_RESTART_DELAY_MS, delay * 2);
    process.stderr.write(`${tag} exited (${signal ?? code}); restarting in ${delay} ms\n`);
    setTimeout(() => !stopping && start(name), delay);
  });
}

function stopAll(signal) {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`[tsp      ] ${signal}: stopping all services\n`);
  for (const child of children.values()) child.kill('SIGTERM');
  if (children.size === 0) process.exit(process.exitCode ?? 0);
  setTimeout(() => process.exit(1), 12_000).unref();
}

process.on('SIGINT', () => stopAll('SIGINT'));
process.on('SIGTERM', () => stopAll('SIGTERM'));
SERVICES.forEach(start);

// `pnpm start`: all four services in the foreground, each line tagged with its service.
// SIGINT/SIGTERM stop them all; a service that dies on its own is restarted (it loses nothing:
// its jobs stay in Redis and are retaken).
const { spawn } = require('node:child_process');
const readline = require('node:readline');
const { SERVICES, loadEnv, serviceMain } = require('./load-env');

const RESTART_DELAY_MS = 1000;
/** A service that dies this soon after starting is misconfigured: restarting it cannot help. */
const EARLY_EXIT_MS = 5000;
loadEnv();
const mains = Object.fromEntries(SERVICES.map((name) => [name, serviceMain(name)]));
const children = new Map();
let stopping = false;

function tagLines(stream, tag, out) {
  readline.createInterface({ input: stream }).on('line', (line) => out.write(`${tag} ${line}\n`));
}

function start(name) {
  const child = spawn(process.execPath, [mains[name]], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
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
    if (code !== 0 && Date.now() - startedAt < EARLY_EXIT_MS) {
      process.stderr.write(`${tag} failed at start-up (exit ${code}); stopping everything\n`);
      process.exitCode = 1;
      stopAll('start-up failure');
      return;
    }
    process.stderr.write(`${tag} exited (${signal ?? code}); restarting in ${RESTART_DELAY_MS} ms\n`);
    setTimeout(() => !stopping && start(name), RESTART_DELAY_MS);
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

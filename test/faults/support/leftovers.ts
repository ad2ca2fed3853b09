import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/**
 * afterAll of each fault file removes what it started, even when a test failed. This covers the
 * runs where afterAll never gets there (a hook timed out, jest was interrupted): everything a
 * file starts is written to a list on disk, and the global teardown, or the jest process's own
 * exit, kills and deletes whatever of it is still there. (An exit hook registered inside a test
 * file would never fire: jest gives test files a copy of `process`.)
 */

export const LEFTOVERS_ENV = 'TSP_FAULTS_LEFTOVERS';

/** FAULT_LAB_KEEP=1: a failed lab's directory (every log whole, the Redis files) is kept to read after the run. */
export function keepFailedLabDirs(): boolean {
  return process.env.FAULT_LAB_KEEP === '1';
}

export type Leftover =
  /** A process, identified by its pid and a piece of its command line (pids get reused). */
  | { kind: 'process'; pid: number; cmdline: string }
  /** A Postgres data directory, stopped with this command if its server still runs. */
  | { kind: 'postgres'; dataDir: string; stop: string[] }
  | { kind: 'dir'; path: string };

export function registerLeftover(entry: Leftover): void {
  const file = process.env[LEFTOVERS_ENV];
  if (file) fs.appendFileSync(file, `${JSON.stringify(entry)}\n`);
}

function stillOurs(pid: number, cmdline: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(cmdline);
  } catch {
    return false;
  }
}

/** Synchronous, so it can run in an exit handler. Processes first, then Postgres servers, then files. */
export function cleanLeftovers(file: string): void {
  if (!fs.existsSync(file)) return;
  const entries = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Leftover);
  for (const entry of entries) {
    if (entry.kind === 'process' && stillOurs(entry.pid, entry.cmdline)) {
      try { process.kill(entry.pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
    }
  }
  for (const entry of entries) {
    if (entry.kind === 'postgres' && fs.existsSync(`${entry.dataDir}/postmaster.pid`)) {
      spawnSync(entry.stop[0], entry.stop.slice(1), { stdio: 'ignore', timeout: 15_000 });
    }
  }
  // A lab that passed removed its own directory; what is left here failed or was interrupted.
  for (const entry of entries) {
    if (entry.kind === 'dir' && !keepFailedLabDirs()) fs.rmSync(entry.path, { recursive: true, force: true });
  }
  fs.rmSync(file, { force: true });
}

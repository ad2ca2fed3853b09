import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port';
import { registerLeftover } from './leftovers';

/**
 * A Postgres cluster of the fault suite's own (initdb into a temp dir, its own port), so that
 * stopping Postgres in a fault test never disturbs other suites using the machine's Postgres.
 * Postgres refuses to run as root: as root, every server command runs as the `postgres` OS user.
 */

export const FAULTS_DATABASE = 'tsp_faults';
const IS_ROOT = process.getuid?.() === 0;

function postgresBinDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = fs.existsSync(base) ? fs.readdirSync(base).filter((v) => fs.existsSync(path.join(base, v, 'bin', 'pg_ctl'))) : [];
  if (versions.length === 0) throw new Error(`the fault suite needs Postgres server binaries under ${base}/<version>/bin (apt-get install postgresql)`);
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  return path.join(base, newest, 'bin');
}

function serverCommand(binary: string, args: string[]): string[] {
  const command = [path.join(postgresBinDir(), binary), ...args];
  return IS_ROOT ? ['runuser', '-u', 'postgres', '--', ...command] : command;
}

/** Runs a server command without blocking the event loop (a destination in this process must keep answering). */
function run(argv: string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => { output += chunk; });
    child.stderr.on('data', (chunk) => { output += chunk; });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${what} failed (exit ${code}):\n${output}`))));
  });
}

/** A directory the postgres user owns (it must own its data directory and be able to reach it). */
function postgresOwnedTempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tsp-faults-${label}-`));
  if (IS_ROOT) {
    const { uid, gid } = postgresUser();
    fs.chownSync(dir, uid, gid);
  }
  return dir;
}

function postgresUser(): { uid: number; gid: number } {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('running as root, the fault suite needs the `postgres` OS user to run its own Postgres');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export class PrivatePostgres {
  private running = false;

  private constructor(readonly root: string, readonly port: number) {
    registerLeftover({ kind: 'postgres', dataDir: this.dataDir, stop: serverCommand('pg_ctl', ['stop', '-D', this.dataDir, '-m', 'immediate']) });
    registerLeftover({ kind: 'dir', path: root });
  }

  get dataDir(): string {
    return path.join(this.root, 'data');
  }

  get logFile(): string {
    return path.join(this.root, 'postgres.log');
  }

  /** postgresql://…/tsp_faults on this cluster (a database the template already migrated). */
  get databaseUrl(): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${FAULTS_DATABASE}`;
  }

  /** An empty cluster, initdb'd into a fresh temp dir; not started. */
  static async init(label: string): Promise<PrivatePostgres> {
    const cluster = new PrivatePostgres(postgresOwnedTempDir(label), await freePort());
    await run(serverCommand('initdb', ['-D', cluster.dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']), 'initdb');
    return cluster;
  }

  /** A copy of a stopped, migrated template cluster (a copy takes well under a second; a migration ≈ 11 s). */
  static async copyOf(templateDataDir: string, label: string): Promise<PrivatePostgres> {
    const cluster = new PrivatePostgres(postgresOwnedTempDir(label), await freePort());
    // cp -a keeps the postgres ownership and the 0700 mode Postgres insists on.
    await run(['cp', '-a', templateDataDir, cluster.dataDir], 'copying the template cluster');
    return cluster;
  }

  async start(): Promise<void> {
    await run(serverCommand('pg_ctl', [
      'start', '-w', '-t', '30', '-D', this.dataDir, '-l', this.logFile,
      '-o', `-p ${this.port} -k /tmp -c listen_addresses=127.0.0.1`,
    ]), `starting Postgres on port ${this.port}`);
    this.running = true;
  }

  /** A clean, quick stop: open connections are cut, as in a failover or a maintenance restart. */
  async stop(): Promise<void> {
    if (!this.running) return;
    await run(serverCommand('pg_ctl', ['stop', '-w', '-D', this.dataDir, '-m', 'fast']), 'stopping Postgres');
    this.running = false;
  }

  /** Stops it (immediately if need be) and deletes its files. */
  async destroy(): Promise<void> {
    if (this.running) {
      await run(serverCommand('pg_ctl', ['stop', '-w', '-D', this.dataDir, '-m', 'immediate']), 'stopping Postgres').catch(() => undefined);
      this.running = false;
    }
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

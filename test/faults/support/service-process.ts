import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { registerLeftover } from './leftovers';

export type ServiceName = 'ingest' | 'approver' | 'forwarder' | 'screener';

const ROOT = path.join(__dirname, '../../..');
const PORT_VARIABLE: Record<ServiceName, string> = { ingest: 'INGEST_PORT', approver: 'APPROVER_PORT', forwarder: 'FORWARDER_PORT', screener: 'SCREENER_PORT' };

/** An exit nobody asked for: a service that dies on its own under a fault is a finding. */
export interface UnexpectedExit {
  name: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * One service replica as a real child process running its compiled entry (services/<name>/dist/main.js),
 * configured only by environment, as a container runs it. Its stdout and stderr go to a log file
 * that survives restarts, so a failing test can show what each replica said.
 */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private expectingExit = false;

  constructor(
    /** ingest, approver, forwarder-1, … */
    readonly name: string,
    readonly service: ServiceName,
    readonly port: number,
    private readonly env: Record<string, string>,
    readonly logFile: string,
    private readonly onUnexpectedExit: (exit: UnexpectedExit) => void,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process and resolves once GET /ready answers 200 (its Redis and Postgres answer). */
  async start(): Promise<void> {
    if (this.child) throw new Error(`${this.name} is already running`);
    const log = fs.openSync(this.logFile, 'a');
    fs.writeSync(log, `\n----- ${this.name} starting at ${new Date().toISOString()}\n`);
    const child = spawn(process.execPath, [path.join(ROOT, 'services', this.service, 'dist', 'main.js')], {
      cwd: ROOT,
      env: { ...this.env, [PORT_VARIABLE[this.service]]: String(this.port) },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    if (child.pid) registerLeftover({ kind: 'process', pid: child.pid, cmdline: `services/${this.service}/dist/main.js` });
    this.child = child;
    this.expectingExit = false;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (this.child === child) this.child = null;
        if (!this.expectingExit) this.onUnexpectedExit({ name: this.name, code, signal });
        resolve();
      });
    });
    await this.waitUntilReady();
  }

  /** SIGTERM: the graceful stop the contract promises within 10 s. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** SIGKILL: a crash, with deliveries in flight and nothing handed back. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  private async signal(name: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.expectingExit = true;
    child.kill(name);
    await this.exited;
  }

  // Generous: on a loaded 2-core machine a Node service alone has taken 19 s to load and listen.
  private async waitUntilReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    for (;;) {
      if (!this.child) throw new Error(`${this.name} exited during start-up (see ${this.logFile})`);
      try {
        const res = await fetch(`${this.url}/ready`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) return;
        last = `${res.status} ${await res.text()}`;
      } catch (error) {
        last = (error as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`${this.name} not ready within ${timeoutMs} ms: ${last}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

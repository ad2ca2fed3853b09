import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createWorkerRedis } from '@tsp/core';
import { freePort, waitForPort } from './free-port';
import { registerLeftover } from './leftovers';

/** ioredis lives in the packages' node_modules, not the root's: reach it through @tsp/core. */
export type RedisClient = ReturnType<typeof createWorkerRedis>;

/**
 * A redis-server of the test file's own: its own port and data directory, AOF with an fsync on
 * every write, so a SIGKILL loses nothing that was acknowledged, as in a production set-up that
 * promises "nothing accepted is lost".
 */
export class PrivateRedis {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(readonly port: number, private readonly dataDir: string, readonly logFile: string) {}

  static async start(workDir: string): Promise<PrivateRedis> {
    const dataDir = path.join(workDir, 'redis');
    fs.mkdirSync(dataDir, { recursive: true });
    const redis = new PrivateRedis(await freePort(), dataDir, path.join(workDir, 'logs', 'redis-server.log'));
    await redis.start();
    return redis;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const log = fs.openSync(this.logFile, 'a');
    fs.writeSync(log, `\n----- redis-server starting at ${new Date().toISOString()}\n`);
    const child = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dataDir,
      '--appendonly', 'yes', '--appendfsync', 'always', '--save', '',
      '--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--logfile', '',
    ], { stdio: ['ignore', log, log] });
    fs.closeSync(log);
    // redis-server renames its process to "redis-server 127.0.0.1:<port>".
    if (child.pid) registerLeftover({ kind: 'process', pid: child.pid, cmdline: `redis-server 127.0.0.1:${this.port}` });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await waitForPort(this.port, 10_000, 'redis-server');
    await this.waitForPong();
  }

  /** A crash: no shutdown, no final write; only the AOF (fsynced per write) survives. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  /** Kills and starts it again on the same port and data directory; clients must reconnect. */
  async crashAndRestart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** A client for the test's own reads and writes; the caller disconnects it. */
  client(): RedisClient {
    return createWorkerRedis(this.url);
  }

  private async signal(name: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(name);
    await this.exited;
    this.child = null;
  }

  /** Redis answers LOADING while it replays the AOF; wait until it takes commands. */
  private async waitForPong(): Promise<void> {
    const probe = createWorkerRedis(this.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100, lazyConnect: true });
    const deadline = Date.now() + 10_000;
    try {
      for (;;) {
        try {
          if (probe.status === 'wait') await probe.connect();
          if ((await probe.ping()) === 'PONG') return;
        } catch (error) {
          if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} is not answering: ${(error as Error).message}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      probe.disconnect();
    }
  }
}

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createWorkerRedis, loadConfig, type RedisTarget } from '@tsp/core';
import { freePort, waitForPort } from './free-port';
import { registerLeftover } from './leftovers';
import type { RedisClient } from './redis-server';

/** What a fault lab needs of the Redis it runs on: the services' environment and a client of the test's own. */
export interface LabRedis {
  /** REDIS_URL or REDIS_CLUSTER_NODES, as an operator sets it. */
  env: Record<string, string>;
  client(): RedisClient;
  /** The key prefix the services use with this Redis for a KEY_PREFIX (a hash tag under a Cluster). */
  keyPrefix(prefix: string): string;
  kill(): Promise<void>;
}

/** One redis-server process (a data node or a Sentinel) on its own port and directory; it can be SIGKILLed and started again. */
export class RedisProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(readonly port: number, readonly dir: string, private readonly args: string[], private readonly logFile: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  async start(): Promise<void> {
    const log = fs.openSync(this.logFile, 'a');
    fs.writeSync(log, `\n----- starting at ${new Date().toISOString()}\n`);
    const child = spawn('redis-server', this.args, { cwd: this.dir, stdio: ['ignore', log, log] });
    fs.closeSync(log);
    if (child.pid) registerLeftover({ kind: 'process', pid: child.pid, cmdline: `127.0.0.1:${this.port}` });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    // A server that exits at once (its port taken meanwhile, say) is reported with its own words,
    // not as a port that never opened.
    let exitedEarly = false;
    const early = this.exited.then(() => { exitedEarly = true; });
    await Promise.race([waitForPort(this.port, 10_000, `redis-server on ${this.port}`), early]);
    if (exitedEarly) {
      const tail = fs.readFileSync(this.logFile, 'utf8').split('\n').slice(-8).join('\n');
      throw new Error(`redis-server on ${this.port} exited while starting; its log ends:\n${tail}`);
    }
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** A crash: no shutdown, no final write. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await this.exited;
    this.child = null;
  }
}

function cli(port: number, ...args: string[]): string {
  const out = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8', timeout: 10_000 });
  if (out.status !== 0) throw new Error(`redis-cli -p ${port} ${args.join(' ')}: ${out.stderr || out.stdout}`);
  return out.stdout.trim();
}

async function until<T>(what: string, timeoutMs: number, probe: () => T | null | undefined | false): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = probe();
      if (value) return value;
    } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A data node's arguments: AOF on (fsynced every second, Redis's default), no eviction, no RDB snapshots. */
const dataNodeArgs = (port: number, dir: string, extra: string[] = []) => [
  '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '',
  '--maxmemory-policy', 'noeviction', '--repl-diskless-sync-delay', '0', '--daemonize', 'no', '--logfile', '', ...extra,
];

/** The test's client sees the failover too; its connection errors are expected, not unhandled. */
const quiet = (client: RedisClient): RedisClient => client.on('error', () => undefined);

const targetOf = (env: Record<string, string>): RedisTarget => loadConfig(env).redis;

/**
 * A Sentinel group as production runs one: a master, one replica, three Sentinels (quorum 2) that
 * declare the master down after 1 s without an answer and promote the replica.
 */
export class SentinelGroup implements LabRedis {
  static readonly MASTER_NAME = 'tspmaster';

  private constructor(readonly dataNodes: RedisProcess[], readonly sentinels: RedisProcess[]) {}

  static async start(workDir: string): Promise<SentinelGroup> {
    const log = (name: string) => path.join(workDir, 'logs', `${name}.log`);
    const [masterPort, replicaPort] = [await freePort(), await freePort()];
    const master = new RedisProcess(masterPort, path.join(workDir, 'redis-a'), dataNodeArgs(masterPort, path.join(workDir, 'redis-a')), log('redis-a'));
    const replica = new RedisProcess(replicaPort, path.join(workDir, 'redis-b'),
      dataNodeArgs(replicaPort, path.join(workDir, 'redis-b'), ['--replicaof', '127.0.0.1', String(masterPort)]), log('redis-b'));
    await master.start();
    await replica.start();
    await until('the replica in sync', 10_000, () => /master_link_status:up/.test(cli(replicaPort, 'info', 'replication')));
    const sentinels: RedisProcess[] = [];
    for (let i = 1; i <= 3; i++) {
      const port = await freePort();
      const dir = path.join(workDir, `sentinel-${i}`);
      fs.mkdirSync(dir, { recursive: true });
      const conf = path.join(dir, 'sentinel.conf');
      fs.writeFileSync(conf, [
        `port ${port}`, 'bind 127.0.0.1', `dir ${dir}`,
        `sentinel monitor ${SentinelGroup.MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
        // 1 s proved too short on a loaded machine: a Sentinel judged the just-promoted master
        // down and failed over again, back to the restarted old one.
        `sentinel down-after-milliseconds ${SentinelGroup.MASTER_NAME} 2000`,
        `sentinel failover-timeout ${SentinelGroup.MASTER_NAME} 10000`,
        `sentinel parallel-syncs ${SentinelGroup.MASTER_NAME} 1`, '',
      ].join('\n'));
      sentinels.push(new RedisProcess(port, dir, [conf, '--sentinel'], log(`sentinel-${i}`)));
    }
    await Promise.all(sentinels.map((s) => s.start()));
    const group = new SentinelGroup([master, replica], sentinels);
    // Each Sentinel must know the replica and the others before a failover can be voted.
    await until('the Sentinels to see the replica and each other', 15_000, () => sentinels.every((s) => {
      const info = cli(s.port, 'sentinel', 'master', SentinelGroup.MASTER_NAME);
      return /num-slaves\n1\n/.test(info) && /num-other-sentinels\n2\n/.test(info);
    }));
    return group;
  }

  get env(): Record<string, string> {
    return { REDIS_URL: `redis+sentinel://${this.sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${SentinelGroup.MASTER_NAME}` };
  }

  client(): RedisClient {
    return quiet(createWorkerRedis(targetOf(this.env)));
  }

  keyPrefix(prefix: string): string {
    return prefix;
  }

  /** The data node the Sentinels name as master now. */
  masterPort(): number {
    const answer = cli(this.sentinels[0].port, 'sentinel', 'get-master-addr-by-name', SentinelGroup.MASTER_NAME).split('\n');
    return Number(answer[1]);
  }

  node(port: number): RedisProcess {
    const node = this.dataNodes.find((n) => n.port === port);
    if (!node) throw new Error(`no data node on port ${port}`);
    return node;
  }

  /** Waits until the Sentinels name another master than `formerPort` and it answers as one. */
  async failedOverFrom(formerPort: number, timeoutMs = 30_000): Promise<number> {
    return until('a failover', timeoutMs, () => {
      const port = this.masterPort();
      return port !== formerPort && /role:master/.test(cli(port, 'info', 'replication')) ? port : null;
    });
  }

  /** Waits until `port` is a replica of the current master with its link up (the killed master, restarted, rejoins so). */
  async replicating(port: number, timeoutMs = 30_000): Promise<void> {
    await until(`the node on ${port} to replicate the new master`, timeoutMs, () => {
      const info = cli(port, 'info', 'replication');
      return /role:slave/.test(info) && /master_link_status:up/.test(info);
    });
  }

  async kill(): Promise<void> {
    await Promise.allSettled([...this.sentinels, ...this.dataNodes].map((p) => p.kill()));
  }
}

/** A Redis Cluster of three masters (no replicas), made with redis-cli --cluster create. */
export class RedisClusterNodes implements LabRedis {
  private constructor(readonly nodes: RedisProcess[]) {}

  static async start(workDir: string): Promise<RedisClusterNodes> {
    const nodes: RedisProcess[] = [];
    for (let i = 1; i <= 3; i++) {
      const port = await freePort();
      const dir = path.join(workDir, `cluster-${i}`);
      nodes.push(new RedisProcess(port, dir, dataNodeArgs(port, dir, ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000']),
        path.join(workDir, 'logs', `cluster-${i}.log`)));
    }
    await Promise.all(nodes.map((n) => n.start()));
    cli(nodes[0].port, '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes');
    await until('cluster_state:ok on every node', 20_000, () => nodes.every((n) => /cluster_state:ok/.test(cli(n.port, 'cluster', 'info'))));
    return new RedisClusterNodes(nodes);
  }

  get env(): Record<string, string> {
    return { REDIS_CLUSTER_NODES: this.nodes.map((n) => `127.0.0.1:${n.port}`).join(',') };
  }

  client(): RedisClient {
    return quiet(createWorkerRedis(targetOf(this.env)));
  }

  keyPrefix(prefix: string): string {
    return `{${prefix}}`;
  }

  /** How many keys each node holds (all of the relay's should be on one, its hash tag's). */
  keysPerNode(): number[] {
    return this.nodes.map((n) => Number(cli(n.port, 'dbsize')));
  }

  async kill(): Promise<void> {
    await Promise.allSettled(this.nodes.map((n) => n.kill()));
  }
}

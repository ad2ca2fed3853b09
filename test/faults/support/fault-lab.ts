import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { redisKeys } from '@tsp/core';
import { readAudit } from './audit-reader';
import { Destination } from './destination';
import { freePort } from './free-port';
import { keepFailedLabDirs, registerLeftover } from './leftovers';
import { TEMPLATE_ENV } from './global-setup';
import { PrivatePostgres } from './postgres-cluster';
import { FinvizStandIn } from './finviz-stand-in';
import type { LabRedis } from './redis-ha';
import { PrivateRedis, type RedisClient } from './redis-server';
import { RelayClient } from './relay-client';
import { ServiceProcess, type ServiceName, type UnexpectedExit } from './service-process';
import { TopnPublisher } from './topn-publisher';

export const ADMIN_TOKEN = 'fault-admin';
export const KEY_PREFIX = 'faults';

export interface LabOptions {
  /** Approver replicas (default 1). */
  approvers?: number;
  /** Forwarder replicas (default 1). */
  forwarders?: number;
  /** Environment for every service, over the lab's defaults. */
  env?: Record<string, string>;
  /** Another Redis than one private redis-server (a Sentinel group, a Cluster: redis-ha.ts). */
  redis?: (workDir: string) => Promise<LabRedis>;
  /** TOP_N for a real screener process reading a local Finviz stand-in, instead of the Top-N published by the test. */
  screenerTopN?: number;
}

const LOG_TAIL_LINES = 60;

/**
 * One whole relay under test, owned by one test file: a private redis-server (AOF) and Postgres,
 * a scripted destination, the Top-N published straight to Redis, and ingest, approver and the
 * forwarder replicas as child processes. shutdown() removes all of it, and prints every log's
 * tail when a test of the file failed.
 */
export class FaultLab {
  /** The private redis-server, unless the lab runs on another Redis (options.redis; then see labRedis). */
  redis!: PrivateRedis;
  labRedis!: LabRedis;
  screener: ServiceProcess | null = null;
  private finviz: FinvizStandIn | null = null;
  postgres!: PrivatePostgres;
  destination!: Destination;
  relay!: RelayClient;
  ingest!: ServiceProcess;
  approvers: ServiceProcess[] = [];
  forwarders: ServiceProcess[] = [];
  private workDir = '';
  private env: Record<string, string> = {};
  private topn: TopnPublisher | null = null;
  private redisClient: RedisClient | null = null;
  private failed = false;
  private readonly exits: UnexpectedExit[] = [];

  constructor(private readonly label: string) {}

  async start(options: LabOptions = {}): Promise<void> {
    await this.watch(async () => {
      const template = process.env[TEMPLATE_ENV];
      if (!template) throw new Error(`${TEMPLATE_ENV} is not set: run the fault suite with jest -c jest.faults.config.js (its global setup makes the Postgres template)`);
      this.workDir = fs.mkdtempSync(path.join(os.tmpdir(), `tsp-faults-${this.label}-`));
      registerLeftover({ kind: 'dir', path: this.workDir });
      fs.mkdirSync(path.join(this.workDir, 'logs'));

      if (options.redis) {
        this.labRedis = await options.redis(this.workDir);
      } else {
        const redis = this.redis = await PrivateRedis.start(this.workDir);
        this.labRedis = { env: { REDIS_URL: redis.url }, client: () => redis.client(), keyPrefix: (prefix) => prefix, kill: () => redis.kill() };
      }
      this.postgres = await PrivatePostgres.copyOf(template, `pg-${this.label}`);
      await this.postgres.start();
      this.destination = await Destination.start();
      this.redisClient = this.labRedis.client();
      if (options.screenerTopN === undefined) {
        this.topn = new TopnPublisher(this.redisClient, this.keyPrefix);
        await this.topn.start();
      } else {
        this.finviz = await FinvizStandIn.start();
      }

      const env = {
        ...this.baseEnv(),
        ...(this.finviz ? { FINVIZ_URL: this.finviz.url, FINVIZ_ALLOWED_HOSTS: '127.0.0.1', FINVIZ_PAGE_DELAY_MS: '0', FINVIZ_REFRESH_SEC: '2', TOP_N: String(options.screenerTopN) } : {}),
        ...options.env,
      };
      this.env = env;
      this.approvers = await Promise.all(Array.from({ length: options.approvers ?? 1 }, (_, i) => this.service(`approver-${i + 1}`, 'approver', env)));
      this.forwarders = await Promise.all(Array.from({ length: options.forwarders ?? 1 }, (_, i) => this.service(`forwarder-${i + 1}`, 'forwarder', env)));
      this.ingest = await this.service('ingest', 'ingest', env);
      if (this.finviz) this.screener = await this.service('screener', 'screener', env);
      await Promise.all([...this.approvers, ...this.forwarders, this.ingest, ...(this.screener ? [this.screener] : [])].map((s) => s.start()));
      this.relay = new RelayClient(this.ingest.url, ADMIN_TOKEN);
    })();
  }

  /** KEY_PREFIX as the services use it on this Redis (a hash tag under a Cluster). */
  get keyPrefix(): string {
    return this.labRedis.keyPrefix(KEY_PREFIX);
  }

  /** The first approver replica. */
  get approver(): ServiceProcess {
    return this.approvers[0];
  }

  /** One more forwarder replica (forwarder-<n>), with the lab's environment, started and ready; shutdown() kills it too. */
  async addForwarder(): Promise<ServiceProcess> {
    const forwarder = await this.service(`forwarder-${this.forwarders.length + 1}`, 'forwarder', this.env);
    this.forwarders.push(forwarder);
    await forwarder.start();
    return forwarder;
  }

  /** Wraps a test body (or hook) so that a failure makes shutdown() print the logs. */
  watch<T>(body: () => Promise<T>): () => Promise<T> {
    return async () => {
      try {
        return await body();
      } catch (error) {
        this.failed = true;
        throw error;
      }
    };
  }

  /** Service exits nobody asked for (a crash under a fault is a finding, not noise). */
  unexpectedExits(): UnexpectedExit[] {
    return [...this.exits];
  }

  /** The test's own Redis connection (it reconnects by itself after a Redis restart). */
  get redisCommands(): RedisClient {
    if (!this.redisClient) throw new Error('the lab is not started');
    return this.redisClient;
  }

  async auditOutboxLength(): Promise<number> {
    return this.redisCommands.llen(redisKeys(this.keyPrefix).auditOutbox);
  }

  audit(ids: string[]) {
    return readAudit(this.postgres.databaseUrl, ids);
  }

  async shutdown(): Promise<void> {
    const services = [this.ingest, ...this.approvers, ...this.forwarders, this.screener].filter((s): s is ServiceProcess => Boolean(s));
    // SIGKILL: nothing of this relay is needed any more, and a hung shutdown must not stall cleanup.
    await Promise.allSettled(services.map((s) => s.kill()));
    this.topn?.stop();
    this.redisClient?.disconnect();
    await Promise.allSettled([this.destination?.goDown(), this.labRedis?.kill(), this.finviz?.close()]);
    if (this.failed && this.workDir) this.printLogs();
    await this.postgres?.destroy().catch(() => undefined);
    if (this.workDir) {
      if (this.failed && keepFailedLabDirs()) process.stdout.write(`fault lab "${this.label}" kept at ${this.workDir}\n`);
      else fs.rmSync(this.workDir, { recursive: true, force: true });
    }
  }

  private baseEnv(): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      ...this.labRedis.env,
      DATABASE_URL: this.postgres.databaseUrl,
      KEY_PREFIX,
      ADMIN_TOKEN,
      // The faults are in delivery, not in who may post: the lab's client posts without a secret.
      WEBHOOK_AUTH: 'none',
      DEST_WEBHOOK_URL: this.destination.url,
      DEST_WEBHOOK_MAX_REQ_PER_MIN: '6000',
      // The hour's window (default 500) would be the lab's real cap: out of the way unless a test sets it.
      DEST_WEBHOOK_MAX_REQ_PER_HOUR: '360000',
      // The lab refreshes the set every 10 s; an hour of slack keeps a slow test from seeing it stale.
      TOPN_MAX_AGE_SEC: '3600',
      SIGNAL_TTL_SEC: '600',
      FORWARD_BACKOFF_BASE_MS: '200',
      FORWARD_BACKOFF_MAX_MS: '5000',
      LOG_LEVEL: 'info',
    };
  }

  private async service(name: string, service: ServiceName, env: Record<string, string>): Promise<ServiceProcess> {
    const logFile = path.join(this.workDir, 'logs', `${name}.log`);
    return new ServiceProcess(name, service, await freePort(), env, logFile, (exit) => this.exits.push(exit));
  }

  private printLogs(): void {
    const files = [
      ...fs.readdirSync(path.join(this.workDir, 'logs')).map((f) => path.join(this.workDir, 'logs', f)),
      this.postgres?.logFile,
    ].filter((f): f is string => Boolean(f) && fs.existsSync(f));
    let text = `\n===== fault lab "${this.label}" failed; the last ${LOG_TAIL_LINES} lines of each log:\n`;
    for (const file of files) {
      const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
      text += `\n----- ${path.basename(file)} (${lines.length} lines)\n${lines.slice(-LOG_TAIL_LINES).join('\n')}\n`;
    }
    process.stderr.write(text);
  }
}

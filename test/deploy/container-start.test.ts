/**
 * Each container's start command, run as the image would run it: from a tree laid out like the
 * image (production dependencies only), with the environment docker-compose.yml (+ prod) gives it
 * — hosts swapped for 127.0.0.1, a KEY_PREFIX and free ports of its own. The migration runs from
 * the same tree; every probe, health check and scrape path the manifests name answers; KEDA's
 * lists carry the backlog: a signal waits in `<prefix>:signals:wait` until an approver runs, and
 * in `<prefix>:forward:wait` until a forwarder runs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import IORedis from 'ioredis';
import { parse } from 'yaml';
import { QueueKeys } from 'bullmq';
import { QUEUE } from '@tsp/core';
import { buildImageTree } from '../support/image-tree';
import { composeModel, containerEnv, readEnvFile } from '../support/compose-files';
import { kustomizeBuild } from '../support/kustomize-build';
import { ROOT, SERVICES, SERVICE_NAMES, type Service } from '../support/deploy-contract';
import { deletePrefixKeys, startLocalServer, uniquePrefix, waitFor, type LocalServer } from '../support/helpers';
import { freePort } from '../faults/support/free-port';

jest.setTimeout(240_000);

const FINVIZ_PAGE = fs.readFileSync(path.join(ROOT, 'fixtures/finviz/finviz-screener-v111-2026.html'), 'utf8');
const WEBHOOK_SECRET = 'container-start-secret';
const ADMIN_TOKEN = 'container-start-admin';


/** compose's hosts (redis, postgres) are this machine's; the database is the test run's. */
function onThisMachine(env: Record<string, string>): Record<string, string> {
  const swapped = { ...env };
  if (env.REDIS_URL) {
    const redis = new URL(env.REDIS_URL);
    redis.hostname = new URL(process.env.REDIS_URL!).hostname;
    redis.port = new URL(process.env.REDIS_URL!).port;
    swapped.REDIS_URL = redis.toString();
  }
  const database = new URL(env.DATABASE_URL);
  const test = new URL(process.env.DATABASE_URL!);
  database.hostname = test.hostname;
  database.port = test.port;
  database.pathname = test.pathname;
  return { ...swapped, DATABASE_URL: database.toString() };
}

interface PgClient { connect(): Promise<void>; query(sql: string): Promise<unknown>; end(): Promise<void> }
// pg is packages/db's dependency, not the repository root's.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Client } = require(path.join(ROOT, 'packages/db/node_modules/pg')) as { Client: new (options: { connectionString: string }) => PgClient };

async function dropDatabase(url: URL): Promise<void> {
  const admin = new URL(url.toString());
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${url.pathname.slice(1)}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

describe('the containers, started as compose starts them, from an image-like tree', () => {
  const model = composeModel('docker-compose.yml', 'docker-compose.prod.yml');
  const dotenv = readEnvFile('.env.example');
  const prefix = uniquePrefix('containers');
  const prodManifests = kustomizeBuild(path.join(ROOT, 'k8s/overlays/prod'));
  const children = new Map<Service, ChildProcess>();
  const ports = {} as Record<Service, number>;
  const envs = {} as Record<Service, Record<string, string>>;
  let app: string;
  let finviz: LocalServer;
  let destination: LocalServer;
  let redis: IORedis;
  const waitList = (queue: string) => new QueueKeys(prefix).toKey(queue, 'wait');
  const url = (service: Service, route: string) => `http://127.0.0.1:${ports[service]}${route}`;

  beforeAll(async () => {
    app = buildImageTree();
    finviz = await startLocalServer(() => ({ status: 200, body: FINVIZ_PAGE, headers: { 'content-type': 'text/html' } }));
    destination = await startLocalServer();
    redis = new IORedis(process.env.REDIS_URL!);
    for (const service of SERVICE_NAMES) {
      ports[service] = await freePort();
      envs[service] = {
        PATH: process.env.PATH!,
        ...onThisMachine(containerEnv(model.services[service], dotenv)),
        // What .env.example leaves to the user, and this run's own prefix, port and stand-ins.
        WEBHOOK_SECRET, ADMIN_TOKEN,
        DEST_WEBHOOK_URL: `${destination.url}/hook`,
        FINVIZ_URL: `${finviz.url}/screener?v=111&f=ta_gap_u5&o=-change`,
        FINVIZ_REFRESH_SEC: '2',
        KEY_PREFIX: prefix,
        LOG_LEVEL: 'error',
        [SERVICES[service].portVar]: String(ports[service]),
      };
    }
  });

  afterAll(async () => {
    await Promise.all([...children.values()].map((child) => stop(child)));
    await deletePrefixKeys(prefix);
    redis?.disconnect();
    await finviz?.close();
    await destination?.close();
    if (app) fs.rmSync(app, { recursive: true, force: true });
  });

  function start(service: Service): void {
    const [command, ...args] = model.services[service].command!;
    const child = spawn(command === 'node' ? process.execPath : command, args, { cwd: app, env: envs[service], stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    child.once('exit', (code) => { if (code) process.stderr.write(`${service} exited ${code}: ${stderr}\n`); });
    children.set(service, child);
  }

  async function stop(child: ChildProcess): Promise<number | null> {
    if (child.exitCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    return exited;
  }

  const ready = (service: Service) => waitFor(async () => (await fetch(url(service, '/ready'))).status === 200, 60_000, `${service} /ready`);

  it('installs production dependencies only, with a generated Prisma client', () => {
    const modules = parse(fs.readFileSync(path.join(app, 'node_modules/.modules.yaml'), 'utf8')) as { included: Record<string, boolean> };
    expect(modules.included).toEqual({ dependencies: true, devDependencies: false, optionalDependencies: true });
    expect(fs.existsSync(path.join(app, 'node_modules/jest'))).toBe(false);
    expect(fs.existsSync(path.join(app, 'packages/db/generated/client/index.js'))).toBe(true);
    expect(fs.existsSync(path.join(app, 'test'))).toBe(false);
  });

  it("creates and migrates a new database with the migrate service's command and environment (Prisma's CLI from production dependencies)", async () => {
    const migrate = model.services.migrate;
    const env: Record<string, string> = { PATH: process.env.PATH!, ...onThisMachine(containerEnv(migrate, dotenv)) };
    const fresh = new URL(env.DATABASE_URL);
    fresh.pathname = `${fresh.pathname}_image_${process.pid}`;
    try {
      const result = spawnSync(migrate.command![0], migrate.command!.slice(1), { cwd: app, env: { ...env, DATABASE_URL: fresh.toString() }, encoding: 'utf8' });
      expect({ status: result.status, output: result.status ? result.stdout + result.stderr : '' }).toEqual({ status: 0, output: '' });
      expect(result.stdout).toContain('created');
      expect(result.stdout).toMatch(/successfully applied|All migrations have been successfully applied/);
    } finally {
      await dropDatabase(fresh);
    }
  });

  it('starts ingest, which answers every path a probe, the health check and the ServiceMonitor name', async () => {
    start('ingest');
    await ready('ingest');
    const deployment = prodManifests.find((o) => o.kind === 'Deployment' && o.metadata.name === 'tsp-ingest')!;
    const [container] = deployment.spec.template.spec.containers;
    for (const probe of [container.readinessProbe, container.livenessProbe]) expect((await fetch(url('ingest', probe.httpGet.path))).status).toBe(200);
    const monitor = prodManifests.find((o) => o.kind === 'ServiceMonitor')!;
    expect(await (await fetch(url('ingest', monitor.spec.endpoints[0].path))).text()).toContain('tsp_signals_received_total');
    const check = spawnSync(process.execPath, ['scripts/healthcheck.js', 'ingest'], { cwd: app, env: envs.ingest, encoding: 'utf8' });
    expect({ status: check.status, stderr: check.stderr }).toEqual({ status: 0, stderr: '' });
  });

  it('starts the screener, which publishes the Top-N', async () => {
    start('screener');
    await ready('screener');
    await waitFor(async () => (await fetch(url('ingest', '/finviz/topn'))).status === 200, 30_000, 'the Top-N');
  });

  it('keeps a signal in the signals wait list until an approver runs, then in the forward wait list until a forwarder runs', async () => {
    const { tickers } = (await (await fetch(url('ingest', '/finviz/topn'))).json()) as { tickers: string[] };
    const posted = await fetch(url('ingest', '/webhook/in'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-secret': WEBHOOK_SECRET },
      body: JSON.stringify({ ticker: tickers[0], action: 'buy', price: 10 }),
    });
    expect(posted.status).toBe(202);
    expect(await redis.type(waitList(QUEUE.signals))).toBe('list');
    expect(await redis.llen(waitList(QUEUE.signals))).toBe(1);

    start('approver');
    await ready('approver');
    await waitFor(async () => (await redis.llen(waitList(QUEUE.forward))) === 1, 30_000, 'the approved signal in the forward wait list');
    expect(await redis.llen(waitList(QUEUE.signals))).toBe(0);

    start('forwarder');
    await ready('forwarder');
    await waitFor(() => destination.received.length === 1, 30_000, 'the delivery');
    expect(JSON.parse(destination.received[0].body)).toMatchObject({ ticker: tickers[0], action: 'buy' });
    await waitFor(async () => (await redis.llen(waitList(QUEUE.forward))) === 0, 10_000, 'an empty forward wait list');
  });

  it.each(SERVICE_NAMES)('%s answers its probes and stops within 10 s of SIGTERM, exit code 0', async (service) => {
    const deployment = prodManifests.find((o) => o.kind === 'Deployment' && o.metadata.name === `tsp-${service}`)!;
    const [container] = deployment.spec.template.spec.containers;
    for (const probe of [container.readinessProbe, container.livenessProbe]) expect((await fetch(url(service, probe.httpGet.path))).status).toBe(200);
    const startedAt = Date.now();
    expect(await stop(children.get(service)!)).toBe(0);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
  });
});

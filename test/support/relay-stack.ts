import { randomUUID } from 'node:crypto';
import IORedis from 'ioredis';
import request from 'supertest';
import { createLogger, loadConfig, redisKeys, type Logger, type RunningService, type TopnSet } from '@tsp/core';
import { startApprover } from '../../services/approver/src/service';
import { startForwarder } from '../../services/forwarder/src/service';
import { startIngest } from '../../services/ingest/src/service';
import { jsonOf, startLocalServer, uniquePrefix, type LocalServer, type ReceivedRequest } from './helpers';

export const ADMIN = 'stack-admin';

/** How the stand-in destination answers one request: by default 200. */
export type Answer = { status: number; body?: string; headers?: Record<string, string>; delayMs?: number };

export interface RelayStack {
  prefix: string;
  ingest: string;
  forwarders: string[];
  destination: LocalServer;
  redis: IORedis;
  publishTopn(tickers: string[]): Promise<void>;
  /** POST /webhook/in; resolves with the 202's id (fails the test otherwise). */
  send(body: Record<string, unknown>): Promise<string>;
  signal(id: string): Promise<Record<string, unknown> & { status: string; reason: string | null }>;
  /** The requests the destination received for these ids, in arrival order. */
  deliveredIds(ids?: Set<string>): string[];
  stop(): Promise<void>;
}

/**
 * Ingest, approvers and forwarders in this process against the real Redis and Postgres, and a real
 * HTTP server as the destination; the Top-N is published straight to Redis as the screener would.
 * `answer` decides each of the destination's answers (attempts counted per Idempotency-Key).
 */
export async function startRelayStack(options: {
  label: string;
  env?: Record<string, string>;
  approvers?: number;
  forwarders?: number;
  answer?: (request: ReceivedRequest, attemptOfSignal: number) => Answer;
  /** A service's own logger (a test reading its lines); the others log errors only. */
  loggers?: Partial<Record<'ingest' | 'approver' | 'forwarder', Logger>>;
}): Promise<RelayStack> {
  const prefix = uniquePrefix(options.label);
  const attempts = new Map<string, number>();
  const destination = await startLocalServer((req) => {
    const key = String(req.headers['idempotency-key']);
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    return options.answer?.(req, attempt) ?? { status: 200, body: '{"ok":true}' };
  });
  const config = loadConfig({
    ...process.env,
    KEY_PREFIX: prefix, INGEST_PORT: '0', APPROVER_PORT: '0', FORWARDER_PORT: '0',
    DEST_WEBHOOK_URL: `${destination.url}/hook`, ADMIN_TOKEN: ADMIN, WEBHOOK_AUTH: 'none',
    FORWARD_BACKOFF_BASE_MS: '100', FORWARD_BACKOFF_MAX_MS: '1000',
    ...options.env,
  });
  const logger = createLogger('stack', process.env.LOG_LEVEL ?? 'error');
  const services: RunningService[] = [];
  const forwarders: string[] = [];
  for (let i = 0; i < (options.approvers ?? 1); i++) services.push(await startApprover(config, options.loggers?.approver ?? logger));
  for (let i = 0; i < (options.forwarders ?? 1); i++) {
    const forwarder = await startForwarder(config, options.loggers?.forwarder ?? logger);
    services.push(forwarder);
    forwarders.push(`http://127.0.0.1:${forwarder.port}`);
  }
  const ingest = await startIngest(config, options.loggers?.ingest ?? logger);
  services.push(ingest);
  const ingestUrl = `http://127.0.0.1:${ingest.port}`;
  const redis = new IORedis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });

  return {
    prefix,
    ingest: ingestUrl,
    forwarders,
    destination,
    redis,
    async publishTopn(tickers) {
      const set: TopnSet = { tickers, top_n: tickers.length, fetched_at: new Date().toISOString(), snapshot_id: randomUUID(), source: 'test' };
      await redis.set(redisKeys(prefix).topn, JSON.stringify(set));
      await redis.publish(redisKeys(prefix).topnUpdated, set.snapshot_id);
      // Each approver reloads on the announcement; give them a moment, then check one has it.
      for (let i = 0; i < 100; i++) {
        const status = await jsonOf<{ snapshot_id: string | null }>(fetch(`${ingestUrl}/finviz/topn`)).catch(() => null);
        if (status?.snapshot_id === set.snapshot_id) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    },
    async send(body) {
      const res = await request(ingestUrl).post('/webhook/in').send(body);
      if (res.status !== 202) throw new Error(`expected 202, got ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    },
    async signal(id) {
      return (await request(ingestUrl).get(`/signals/${id}`).set('Authorization', `Bearer ${ADMIN}`)).body;
    },
    deliveredIds(ids) {
      return destination.received.map((r) => String(r.headers['idempotency-key'])).filter((id) => !ids || ids.has(id));
    },
    async stop() {
      for (const service of services.reverse()) await service.stop();
      await destination.close();
      redis.disconnect();
    },
  };
}

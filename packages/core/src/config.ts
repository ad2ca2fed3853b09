/**
 * Environment configuration, read once at start-up. Any bad value throws a ConfigError whose
 * message is one line naming the variable, so a misconfigured service dies at once, never later.
 */

export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export type SellPolicy = 'open_position' | 'always' | 'topn';

export interface Config {
  redisUrl: string;
  databaseUrl: string;
  keyPrefix: string;
  ports: { ingest: number; screener: number; approver: number; forwarder: number };
  destWebhookUrl: string | null;
  destWebhookSecret: string | null;
  destMaxReqPerMin: number;
  destRateLimitingEnabled: boolean;
  destTimeoutMs: number;
  forwardMaxAttempts: number;
  /** Base of the exponential retry backoff (full jitter): attempt n waits up to base·2^(n-1). */
  forwardBackoffBaseMs: number;
  forwardBackoffMaxMs: number;
  finvizUrl: string | null;
  topN: number;
  finvizRefreshSec: number;
  finvizUseElite: boolean;
  finvizEmail: string | null;
  finvizPassword: string | null;
  finvizAuthToken: string | null;
  finvizAllowedHosts: string[];
  /** Pause between two requests to Finviz (pages of one scrape, login, export). */
  finvizPageDelayMs: number;
  /** Elite login form target and CSV export endpoint (overridable so a local stand-in can serve them). */
  finvizLoginUrl: string;
  finvizExportUrl: string;
  /** Optional `{url, top_n, refresh}` file of the old system, imported once when no config is stored. */
  finvizConfigFile: string;
  topnMaxAgeSec: number;
  workerConcurrency: number;
  forwardingWorkers: number;
  queueMaxSize: number;
  sellPolicy: SellPolicy;
  signalTtlSec: number;
  webhookAllowedIps: string[];
  webhookSecret: string | null;
  adminToken: string | null;
  finvizUpdateToken: string | null;
  logLevel: string;
  /** How long a worker's job lock lives: a crashed worker's jobs are retaken after about this long. */
  jobLockMs: number;
}

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | null {
  const value = env[name]?.trim();
  return value ? value : null;
}

function int(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = str(env, name);
  if (raw === null) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number (got "${raw}")`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max} (got ${value})`);
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = str(env, name);
  if (raw === null) return fallback;
  if (/^(true|1|yes|on)$/i.test(raw)) return true;
  if (/^(false|0|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false (got "${raw}")`);
}

function url(env: Env, name: string, protocols: string[]): string | null {
  const raw = str(env, name);
  if (raw === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `is not a valid URL (got "${raw}")`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')} (got "${parsed.protocol}")`);
  }
  return raw;
}

function list(env: Env, name: string, fallback: string[]): string[] {
  const raw = str(env, name);
  if (raw === null) return fallback;
  return raw.split(',').map((item) => item.trim()).filter(Boolean);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = str(env, name);
  if (raw === null) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')} (got "${raw}")`);
  }
  return raw as T;
}

const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;

export function loadConfig(env: Env = process.env): Config {
  const port = (name: string, fallback: number) => int(env, name, fallback, 0, 65535);
  return {
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']) ?? 'redis://127.0.0.1:6379',
    databaseUrl:
      url(env, 'DATABASE_URL', ['postgresql:', 'postgres:']) ?? 'postgresql://postgres@127.0.0.1:5432/trading_signals',
    keyPrefix: keyPrefix(env),
    ports: {
      ingest: port('INGEST_PORT', 8080),
      screener: port('SCREENER_PORT', 8081),
      approver: port('APPROVER_PORT', 8082),
      forwarder: port('FORWARDER_PORT', 8083),
    },
    destWebhookUrl: url(env, 'DEST_WEBHOOK_URL', ['http:', 'https:']),
    destWebhookSecret: str(env, 'DEST_WEBHOOK_SECRET'),
    destMaxReqPerMin: int(env, 'DEST_WEBHOOK_MAX_REQ_PER_MIN', 60, 1, 600_000),
    destRateLimitingEnabled: bool(env, 'DEST_WEBHOOK_RATE_LIMITING_ENABLED', true),
    destTimeoutMs: int(env, 'DEST_WEBHOOK_TIMEOUT_MS', 5000, 1, 600_000),
    forwardMaxAttempts: int(env, 'FORWARD_MAX_ATTEMPTS', 8, 1, 100),
    forwardBackoffBaseMs: int(env, 'FORWARD_BACKOFF_BASE_MS', 1000, 0, 3_600_000),
    forwardBackoffMaxMs: int(env, 'FORWARD_BACKOFF_MAX_MS', 60_000, 0, 86_400_000),
    finvizUrl: url(env, 'FINVIZ_URL', ['http:', 'https:']),
    topN: int(env, 'TOP_N', 15, 1, 1000),
    finvizRefreshSec: int(env, 'FINVIZ_REFRESH_SEC', 10, 1, 86_400),
    finvizUseElite: bool(env, 'FINVIZ_USE_ELITE', false),
    finvizEmail: str(env, 'FINVIZ_EMAIL'),
    finvizPassword: str(env, 'FINVIZ_PASSWORD'),
    finvizAuthToken: str(env, 'FINVIZ_AUTH_TOKEN'),
    finvizAllowedHosts: list(env, 'FINVIZ_ALLOWED_HOSTS', ['finviz.com', 'elite.finviz.com']),
    finvizPageDelayMs: int(env, 'FINVIZ_PAGE_DELAY_MS', 1000, 0, 60_000),
    finvizLoginUrl: url(env, 'FINVIZ_LOGIN_URL', ['http:', 'https:']) ?? 'https://finviz.com/login_submit.ashx',
    finvizExportUrl: url(env, 'FINVIZ_EXPORT_URL', ['http:', 'https:']) ?? 'https://elite.finviz.com/export.ashx',
    finvizConfigFile: str(env, 'FINVIZ_CONFIG_FILE') ?? 'finviz_config.json',
    topnMaxAgeSec: int(env, 'TOPN_MAX_AGE_SEC', 120, 1, 86_400),
    workerConcurrency: int(env, 'WORKER_CONCURRENCY', 16, 1, 1000),
    forwardingWorkers: int(env, 'FORWARDING_WORKERS', 5, 1, 1000),
    queueMaxSize: int(env, 'QUEUE_MAX_SIZE', 100_000, 1),
    sellPolicy: oneOf(env, 'SELL_POLICY', ['open_position', 'always', 'topn'] as const, 'open_position'),
    signalTtlSec: int(env, 'SIGNAL_TTL_SEC', 300, 1, 86_400),
    webhookAllowedIps: list(env, 'WEBHOOK_ALLOWED_IPS', []),
    webhookSecret: str(env, 'WEBHOOK_SECRET'),
    adminToken: str(env, 'ADMIN_TOKEN'),
    finvizUpdateToken: str(env, 'FINVIZ_UPDATE_TOKEN'),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    jobLockMs: int(env, 'JOB_LOCK_MS', 30_000, 1000, 600_000),
  };
}

function keyPrefix(env: Env): string {
  const prefix = str(env, 'KEY_PREFIX') ?? 'tsp';
  // BullMQ joins prefix and queue name with ':'; a ':' or space inside the prefix would blur keys.
  if (!/^[A-Za-z0-9_.-]+$/.test(prefix)) throw new ConfigError('KEY_PREFIX', `may hold only letters, digits, "_", "-" and "." (got "${prefix}")`);
  return prefix;
}

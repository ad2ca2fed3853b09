/**
 * Environment configuration, read once at start-up. Any bad value throws a ConfigError whose
 * message is one line naming the variable, so a misconfigured service dies at once, never later.
 */

import { InvalidIpRangeError, parseIpRange, TRADINGVIEW_IPS, type IpRange } from './ip-ranges';
import { allowListEntryOf } from './allowed-host';
import { redactUrl } from './redact-url';
import { hasHashTag, InvalidRedisTargetError, parseClusterNodes, parseSentinelUrl, parseSingleUrl, type RedisTarget } from './redis-target';

export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    // The message is printed at start-up: a URL in it (a DATABASE_URL with its password, a
    // FINVIZ_URL with `auth=`) keeps its shape but never its credentials.
    super(redactUrl(`${variable} ${problem}`));
    this.name = 'ConfigError';
  }
}

export type SellPolicy = 'open_position' | 'always' | 'topn';

/** Whose X-Forwarded-For is believed: the nearest `hops` proxies, or proxies at these addresses. */
export type TrustProxy = { hops: number } | { proxies: IpRange[] };

export interface Config {
  /** REDIS_URL (one node or a Sentinel group) or REDIS_CLUSTER_NODES: turned into connections by redis.ts. */
  redis: RedisTarget;
  /**
   * After accepting a signal, ingest waits until this many replicas have its write (Redis WAIT),
   * so a failover to one of them cannot lose it; 0: no wait. Not with a Cluster.
   */
  redisWaitReplicas: number;
  /** The longest that wait lasts; past it the signal is accepted anyway (it is on the master) and a warning logged. */
  redisWaitTimeoutMs: number;
  databaseUrl: string;
  keyPrefix: string;
  ports: { ingest: number; screener: number; approver: number; forwarder: number };
  destWebhookUrl: string | null;
  destWebhookSecret: string | null;
  destMaxReqPerMin: number;
  /** A second window on the same global cap (TradersPost allows 60 a minute and 500 an hour). */
  destMaxReqPerHour: number;
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
  /** Hosts a runtime destination change may name (POST /admin/destination); by default DEST_WEBHOOK_URL's own. */
  destAllowedHosts: string[];
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
  /** An entry whose `time` is older than this on arrival is rejected `stale`; 0: off. An alert's own `max_lag` overrides it. */
  signalMaxLagSec: number;
  /** Late approval: a BUY rejected not_in_topn passes if its ticker enters the Top-N within this many seconds; 0: off. */
  reapproveWindowSec: number;
  /** Audit records waiting for Postgres past which ingest answers 503 (back-pressure) rather than accept more. */
  auditOutboxMax: number;
  /** Senders allowed to post to /webhook/in; empty: any sender (then WEBHOOK_SECRET or WEBHOOK_AUTH=none is required). */
  webhookAllowedIps: IpRange[];
  webhookSecret: string | null;
  /** 'none': the operator's explicit opt-out that lets ingest take signals with no secret and no allow-list. */
  webhookAuth: 'none' | null;
  /** Proxies whose X-Forwarded-For names the client; null (the default): the connecting address is the client. */
  trustProxy: TrustProxy | null;
  adminToken: string | null;
  /** How long an admin console session lives; the server refuses it after this, whatever the browser keeps. */
  adminSessionTtlSec: number;
  /** Console live-stream connections (GET /admin/events) one ingest process serves at once; beyond, 503. */
  adminEventsMaxConnections: number;
  /** Whether the console cookie carries `Secure`; null (the default): when the request came over TLS. */
  adminCookieSecure: boolean | null;
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

/**
 * One of a few words. `anyCase`: written in any case (`LOG_LEVEL=INFO` is `info`: an operator
 * should not lose a start to a capital); without it, exactly (WEBHOOK_AUTH=none is a deliberate
 * opt-out, spelt one way).
 */
/** "host" or "host:port" ("[v6]:port"): a URL or a path here would silently never match, so it stops the start. */
const HOST_ENTRY = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

function hostList(env: Env, name: string, fallback: string[]): string[] {
  const hosts = list(env, name, fallback);
  const bad = hosts.find((host) => !HOST_ENTRY.test(host));
  if (bad !== undefined) throw new ConfigError(name, `entries are host or host:port, without scheme or path (got "${redactUrl(bad)}")`);
  return hosts;
}

function oneOf<T extends string, F extends T | null>(env: Env, name: string, allowed: readonly T[], fallback: F, options: { anyCase?: boolean } = {}): T | F {
  const raw = str(env, name);
  if (raw === null) return fallback;
  const word = options.anyCase ? raw.toLowerCase() : raw;
  if (!(allowed as readonly string[]).includes(word)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}${options.anyCase ? ', in any case' : ''} (got "${raw}")`);
  }
  return word as T;
}

/** A comma list of addresses and CIDRs, parsed strictly; `keywords` name lists of their own. */
function ipRanges(env: Env, name: string, expected: string, keywords: Record<string, readonly string[]> = {}): IpRange[] {
  return list(env, name, []).flatMap((entry) => {
    const expanded = keywords[entry.toLowerCase()] ?? [entry];
    try {
      return expanded.map(parseIpRange);
    } catch (error) {
      if (error instanceof InvalidIpRangeError) throw new ConfigError(name, `${expected}: ${error.message}`);
      throw error;
    }
  });
}

/** TRUST_PROXY: a hop count (whole number ≥ 1) or a comma list of proxy addresses/CIDRs; unset or `off`: none. */
function trustProxy(env: Env): TrustProxy | null {
  const name = 'TRUST_PROXY';
  const raw = str(env, name);
  if (raw === null || raw.toLowerCase() === 'off') return null;
  // Digits alone are a hop count; `true` (express's "trust everyone") would let any client forge its address.
  if (/^[0-9]+$/.test(raw)) {
    if (!/^[1-9][0-9]{0,2}$/.test(raw)) throw new ConfigError(name, `as a hop count must be a whole number from 1 to 999 (got "${raw}")`);
    return { hops: Number(raw) };
  }
  return { proxies: ipRanges(env, name, 'must be off, a hop count (1, 2, ...) or a comma list of proxy addresses/CIDRs') };
}

const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'] as const;

export function loadConfig(env: Env = process.env): Config {
  const port = (name: string, fallback: number) => int(env, name, fallback, 0, 65535);
  const destWebhookUrl = url(env, 'DEST_WEBHOOK_URL', ['http:', 'https:']);
  const redis = redisTarget(env);
  return {
    redis,
    redisWaitReplicas: redisWaitReplicas(env, redis),
    redisWaitTimeoutMs: int(env, 'REDIS_WAIT_TIMEOUT_MS', 500, 1, 60_000),
    databaseUrl:
      url(env, 'DATABASE_URL', ['postgresql:', 'postgres:']) ?? 'postgresql://postgres@127.0.0.1:5432/trading_signals',
    keyPrefix: keyPrefix(env, redis),
    ports: {
      ingest: port('INGEST_PORT', 8080),
      screener: port('SCREENER_PORT', 8081),
      approver: port('APPROVER_PORT', 8082),
      forwarder: port('FORWARDER_PORT', 8083),
    },
    destWebhookUrl,
    destWebhookSecret: signingSecret(env, 'DEST_WEBHOOK_SECRET'),
    destMaxReqPerMin: int(env, 'DEST_WEBHOOK_MAX_REQ_PER_MIN', 60, 1, 600_000),
    destMaxReqPerHour: int(env, 'DEST_WEBHOOK_MAX_REQ_PER_HOUR', 500, 1, 36_000_000),
    destRateLimitingEnabled: bool(env, 'DEST_WEBHOOK_RATE_LIMITING_ENABLED', true),
    destTimeoutMs: int(env, 'DEST_WEBHOOK_TIMEOUT_MS', 5000, 1, 600_000),
    destAllowedHosts: hostList(env, 'DEST_ALLOWED_HOSTS', destWebhookUrl ? [allowListEntryOf(destWebhookUrl)] : []),
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
    finvizAllowedHosts: hostList(env, 'FINVIZ_ALLOWED_HOSTS', ['finviz.com', 'elite.finviz.com']),
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
    signalMaxLagSec: int(env, 'SIGNAL_MAX_LAG_SEC', 0, 0, 30 * 86_400),
    reapproveWindowSec: int(env, 'REAPPROVE_WINDOW_SEC', 0, 0, 86_400),
    auditOutboxMax: int(env, 'AUDIT_OUTBOX_MAX', 200_000, 1, 100_000_000),
    webhookAllowedIps: ipRanges(env, 'WEBHOOK_ALLOWED_IPS', 'must be a comma list of addresses/CIDRs or "tradingview"', { tradingview: TRADINGVIEW_IPS }),
    webhookSecret: str(env, 'WEBHOOK_SECRET'),
    webhookAuth: oneOf(env, 'WEBHOOK_AUTH', ['none'] as const, null),
    trustProxy: trustProxy(env),
    adminToken: str(env, 'ADMIN_TOKEN'),
    adminSessionTtlSec: int(env, 'ADMIN_SESSION_TTL_SEC', 12 * 3600, 60, 30 * 86_400),
    adminEventsMaxConnections: int(env, 'ADMIN_EVENTS_MAX_CONNECTIONS', 50, 1, 10_000),
    adminCookieSecure: str(env, 'ADMIN_COOKIE_SECURE') === null ? null : bool(env, 'ADMIN_COOKIE_SECURE', false),
    finvizUpdateToken: str(env, 'FINVIZ_UPDATE_TOKEN'),
    logLevel: oneOf(env, 'LOG_LEVEL', LOG_LEVELS, 'info', { anyCase: true }),
    jobLockMs: int(env, 'JOB_LOCK_MS', 30_000, 1000, 600_000),
  };
}

/** Standard Webhooks secrets: `whsec_` and its key in base64 (checked here, not at the first delivery), or any other string, used raw. */
function signingSecret(env: Env, name: string): string | null {
  const value = str(env, name);
  if (value?.startsWith('whsec_')) {
    const key = value.slice('whsec_'.length);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key) || key.length % 4 !== 0) throw new ConfigError(name, 'starts with whsec_ but what follows is not a base64 key (whsec_<base64>, as Svix and Standard Webhooks print it)');
  }
  return value;
}

/** REDIS_CLUSTER_NODES when set (it replaces REDIS_URL), else REDIS_URL: one node or a Sentinel group. */
function redisTarget(env: Env): RedisTarget {
  // Both are read whatever is set, so the list of variables the relay reads is complete.
  const single = str(env, 'REDIS_URL');
  const clusterNodes = str(env, 'REDIS_CLUSTER_NODES');
  const [name, parse, raw] = clusterNodes !== null
    ? ['REDIS_CLUSTER_NODES', parseClusterNodes, clusterNodes] as const
    : ['REDIS_URL', /^redis\+sentinel:/i.test(single ?? '') ? parseSentinelUrl : parseSingleUrl, single ?? 'redis://127.0.0.1:6379'] as const;
  try {
    return parse(raw);
  } catch (error) {
    if (error instanceof InvalidRedisTargetError) throw new ConfigError(name, error.message);
    throw error;
  }
}

function redisWaitReplicas(env: Env, redis: RedisTarget): number {
  const replicas = int(env, 'REDIS_WAIT_REPLICAS', 0, 0, 16);
  // WAIT names no key, so a Cluster client cannot tell which master's replicas it asks about.
  if (replicas > 0 && redis.mode === 'cluster') throw new ConfigError('REDIS_WAIT_REPLICAS', 'cannot be used with REDIS_CLUSTER_NODES (a Redis Cluster); set it to 0');
  return replicas;
}

/**
 * KEY_PREFIX as written, or `{name}`: braces make it a Redis Cluster hash tag. Under a Cluster the
 * prefix always has one (`tsp` becomes `{tsp}`): every key of the relay must be in one slot, since
 * its scripts and transactions (and BullMQ's) touch several keys at once. Postgres rows name the
 * deployment without the braces (deploymentOf), so they are the same whichever Redis it runs on.
 */
function keyPrefix(env: Env, redis: RedisTarget): string {
  const prefix = str(env, 'KEY_PREFIX') ?? 'tsp';
  // BullMQ joins prefix and queue name with ':'; a ':' or space inside the prefix would blur keys.
  if (!/^(?:[A-Za-z0-9_.-]+|\{[A-Za-z0-9_.-]+\})$/.test(prefix)) {
    throw new ConfigError('KEY_PREFIX', `may hold only letters, digits, "_", "-" and ".", the whole of it perhaps in braces (a hash tag, "{tsp}") (got "${prefix}")`);
  }
  return redis.mode === 'cluster' && !hasHashTag(prefix) ? `{${prefix}}` : prefix;
}

/** How /webhook/in authenticates its senders, as ingest's /status reports it. */
export type WebhookAuthMode = 'secret' | 'allowed_ips' | 'secret_and_allowed_ips' | 'none';

/** Logged at every start of an ingest that takes unauthenticated signals, and listed in its /status. */
export const UNAUTHENTICATED_WEBHOOK_WARNING =
  'WEBHOOK_AUTH=none: POST /webhook/in accepts signals from anyone (no WEBHOOK_SECRET, no WEBHOOK_ALLOWED_IPS)';

/** What /webhook/in checks under this configuration. */
export function webhookAuthMode(config: Pick<Config, 'webhookSecret' | 'webhookAllowedIps'>): WebhookAuthMode {
  const secret = config.webhookSecret !== null;
  const allowList = config.webhookAllowedIps.length > 0;
  if (secret && allowList) return 'secret_and_allowed_ips';
  if (secret) return 'secret';
  return allowList ? 'allowed_ips' : 'none';
}

/**
 * Ingest's start-up rule (the other services ignore it): a webhook anyone may post trades to is
 * never the default. Without a secret and an allow-list, only WEBHOOK_AUTH=none lets it start.
 */
export function requireWebhookAuth(config: Pick<Config, 'webhookSecret' | 'webhookAllowedIps' | 'webhookAuth'>): WebhookAuthMode {
  const mode = webhookAuthMode(config);
  if (mode === 'none' && config.webhookAuth !== 'none') {
    throw new ConfigError(
      'WEBHOOK_SECRET',
      'is not set, nor is WEBHOOK_ALLOWED_IPS, so anyone could post signals: set WEBHOOK_SECRET (recommended) or WEBHOOK_ALLOWED_IPS, '
        + 'or WEBHOOK_AUTH=none to accept unauthenticated signals knowingly',
    );
  }
  return mode;
}

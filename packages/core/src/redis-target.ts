/**
 * Which Redis the relay uses, read from REDIS_URL and REDIS_CLUSTER_NODES: one node
 * (`redis://…`), a Sentinel group that names the master (`redis+sentinel://h1:26379,h2:26379/<master>`),
 * or the seeds of a Redis Cluster (REDIS_CLUSTER_NODES=`h1:6379,h2:6379`, which replaces REDIS_URL).
 * redis.ts turns it into connections; nothing else needs to know which of the three it is.
 */
import { z } from 'zod';

export interface RedisNode {
  host: string;
  port: number;
}

export type RedisTarget =
  | { mode: 'single'; url: string }
  | { mode: 'sentinel'; sentinels: RedisNode[]; masterName: string; username?: string; password?: string }
  | { mode: 'cluster'; nodes: RedisNode[] };

export class InvalidRedisTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRedisTargetError';
  }
}

/** A DNS name, an IPv4 address or a bracketed IPv6 one: no scheme, path, space or control character. */
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])$/i;
/** Spaces, control characters, and the invisible ones (zero-width, bidi overrides) a pasted value can carry. */
// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const CONTROL_OR_SPACE = /[\s\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/;

const hostPort = z.string().transform((entry, ctx): RedisNode => {
  const match = /^(.+):(\d{1,5})$/.exec(entry);
  const port = match ? Number(match[2]) : NaN;
  if (!match || !HOST.test(match[1]) || port < 1 || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `"${entry}" is not host:port (a port from 1 to 65535, no scheme or path)` });
    return z.NEVER;
  }
  return { host: match[1].replace(/^\[(.*)\]$/, '$1'), port };
});

/** Comma-separated host:port entries; spaces around an entry are allowed, inside one they are not. */
const nodeList = z.string()
  .transform((raw) => raw.split(',').map((entry) => entry.replace(/^ +| +$/g, '')))
  .refine((entries) => !entries.some((entry) => CONTROL_OR_SPACE.test(entry)), 'holds a space or control character')
  .pipe(z.array(hostPort).min(1, 'names no node').max(64, 'names more than 64 nodes'));

/** Sentinel master names as redis.conf takes them (`sentinel monitor <name> …`). */
const masterName = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'the master name (after the last "/") must be 1 to 64 letters, digits, ".", "_" or "-"');

const SENTINEL_URL = /^redis\+sentinel:\/\/(?:([^@/]*)@)?([^/?#@]+)\/([^/?#]*)$/i;

function decoded(part: string | undefined): string | undefined {
  if (!part) return undefined;
  try {
    return decodeURIComponent(part);
  } catch {
    throw new InvalidRedisTargetError('has credentials that are not valid percent-encoding');
  }
}

function firstIssue(error: z.ZodError): string {
  return error.issues[0]?.message ?? 'is not valid';
}

/** `redis+sentinel://[user:password@]h1:26379,h2:26379/<master>`: the credentials are the master's. */
export function parseSentinelUrl(raw: string): RedisTarget {
  if (CONTROL_OR_SPACE.test(raw)) throw new InvalidRedisTargetError('holds a space or control character');
  const match = SENTINEL_URL.exec(raw);
  if (!match) throw new InvalidRedisTargetError('must be redis+sentinel://[user:password@]host:port[,host:port…]/<master name>');
  const [, userinfo, hosts, name] = match;
  const sentinels = nodeList.safeParse(hosts);
  if (!sentinels.success) throw new InvalidRedisTargetError(`names a bad Sentinel: ${firstIssue(sentinels.error)}`);
  const master = masterName.safeParse(name);
  if (!master.success) throw new InvalidRedisTargetError(firstIssue(master.error));
  const [user, ...password] = (userinfo ?? '').split(':');
  return {
    mode: 'sentinel',
    sentinels: sentinels.data,
    masterName: master.data,
    ...(decoded(user) ? { username: decoded(user) } : {}),
    ...(decoded(password.join(':')) ? { password: decoded(password.join(':')) } : {}),
  };
}

/** REDIS_CLUSTER_NODES: `host:port[,host:port…]`, some of the Cluster's nodes (the rest are discovered). */
export function parseClusterNodes(raw: string): RedisTarget {
  const nodes = nodeList.safeParse(raw);
  if (!nodes.success) throw new InvalidRedisTargetError(firstIssue(nodes.error));
  return { mode: 'cluster', nodes: nodes.data };
}

/** REDIS_URL of one node: redis:// or rediss://, a valid URL without spaces or control characters. */
export function parseSingleUrl(raw: string): RedisTarget {
  if (CONTROL_OR_SPACE.test(raw)) throw new InvalidRedisTargetError('holds a space or control character');
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new InvalidRedisTargetError(`is not a valid URL (got "${raw}")`);
  }
  if (!['redis:', 'rediss:'].includes(parsed.protocol)) {
    throw new InvalidRedisTargetError(`must use redis:, rediss: or redis+sentinel: (got "${parsed.protocol}")`);
  }
  if (!parsed.hostname) throw new InvalidRedisTargetError(`names no host (got "${raw}")`);
  return { mode: 'single', url: raw };
}

/** A Redis Cluster hash tag: every key of a prefix with one hashes to the same slot. */
export function hasHashTag(prefix: string): boolean {
  return /\{[^{}]+\}/.test(prefix);
}

/** Where a log line or /status may say which Redis this is, without credentials. */
export function describeRedisTarget(target: RedisTarget): string {
  const list = (nodes: RedisNode[]) => nodes.map((n) => `${n.host}:${n.port}`).join(',');
  if (target.mode === 'sentinel') return `sentinel ${list(target.sentinels)} master ${target.masterName}`;
  if (target.mode === 'cluster') return `cluster ${list(target.nodes)}`;
  const url = new URL(target.url);
  return `single ${url.hostname}:${url.port || 6379}`;
}

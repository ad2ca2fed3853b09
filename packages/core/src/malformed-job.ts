import { randomUUID } from 'node:crypto';

/** What can be read of a job that failed its schema, so it is recorded instead of dropped. */
export interface MalformedSignal {
  id: string;
  ticker: string;
  side: string;
  kind: string;
  receivedAt: string;
  time: string;
  /** The job's data, made safe to store (no NUL or lone surrogates, at most 16 KiB of JSON). */
  body: unknown;
  error: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_BODY_CHARS = 16 * 1024;
/** Characters Postgres refuses in JSONB text (NUL) or that are not text at all (lone surrogates). */
// eslint-disable-next-line no-control-regex -- NUL is the character Postgres refuses
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const text = (value: unknown, max: number) => (typeof value === 'string' ? value.replace(UNSTORABLE, '\ufffd').slice(0, max) : '');
const isoOr = (value: unknown, fallback: string) => (typeof value === 'string' && !Number.isNaN(Date.parse(value)) ? new Date(value).toISOString() : fallback);

function storable(data: unknown): unknown {
  let json: string;
  try {
    json = JSON.stringify(data, (_key, value) => (typeof value === 'string' ? value.replace(UNSTORABLE, '\ufffd') : value)) ?? 'null';
  } catch {
    return { unreadable: true };
  }
  return json.length <= MAX_BODY_CHARS ? JSON.parse(json) : { truncated: true, excerpt: json.slice(0, 4096) };
}

/**
 * Reads what it can of a malformed signal job (`data` is the signal itself, or, for a delivery,
 * the object under its `signal`): the id is the job's when it is a UUID, else a new one.
 */
export function salvageSignal(jobId: string | undefined, data: unknown, error: string, now = new Date()): MalformedSignal {
  const record = (data && typeof data === 'object' ? data : {}) as Record<string, unknown>;
  const signal = (record.signal && typeof record.signal === 'object' ? record.signal : record) as Record<string, unknown>;
  const side = text(signal.side, 8);
  return {
    id: jobId && UUID.test(jobId) ? jobId : randomUUID(),
    ticker: text(signal.ticker, 32),
    side: side === 'BUY' || side === 'SELL' ? side : 'UNKNOWN',
    kind: signal.kind === 'manual' ? 'manual' : 'source',
    receivedAt: isoOr(signal.receivedAt, now.toISOString()),
    time: isoOr(signal.time, now.toISOString()),
    body: storable(data),
    error: error.slice(0, 1000),
  };
}

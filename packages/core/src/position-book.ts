import type IORedis from 'ioredis';
import { redisKeys } from './names';
import { LuaScript } from './lua-script';

export interface OpenPosition {
  ticker: string;
  openedAt: string;
  lastPrice: number | null;
  /** The signal that opened it; null when opened by hand (a position correction). */
  signalId: string | null;
}

/** What a position correction found and did: `changed` false when the position was already as asked. */
export type CorrectionResult = { changed: boolean; before: OpenPosition | null } | { unloaded: true };

/** ARGV of POSITION_LUA's positionOpen after its key: ticker, the position as JSON, the price ('' for none). */
export function positionArgs(position: OpenPosition): [string, string, string] {
  return [position.ticker, JSON.stringify(position), position.lastPrice === null ? '' : String(position.lastPrice)];
}

/** Always present in a loaded book, so "no positions" differs from "book lost with Redis". */
const LOADED_MARKER = '__loaded__';

/**
 * Lua for scripts that move a position along with other writes. Adding to an open position keeps
 * when it was opened; the price follows the latest fill. In a script, so two deliveries of one
 * ticker cannot interleave their read and write.
 */
export const POSITION_LUA = `
local function positionOpen(key, ticker, position, lastPrice)
  local stored = redis.call('HGET', key, ticker)
  if not stored then return redis.call('HSET', key, ticker, position) end
  if lastPrice == '' then return 0 end
  local open = cjson.decode(stored)
  open.lastPrice = tonumber(lastPrice)
  return redis.call('HSET', key, ticker, cjson.encode(open))
end`;

const OPEN_POSITION = `${POSITION_LUA}
return positionOpen(KEYS[1], ARGV[1], ARGV[2], ARGV[3])`;

/**
 * A correction by hand: opens (ARGV[2] = the position) or closes (ARGV[2] = '') the ticker ARGV[1]
 * unless it already is so, and in the same step appends ARGV[3] to the list KEYS[2] (the audit
 * outbox), so the durable copy follows in the order of the deliveries around it.
 * Answers {state, the position before or ''}; 'unloaded' when the book must be loaded first.
 */
const CORRECT_POSITION = new LuaScript('tspCorrectPosition', `
if redis.call('HEXISTS', KEYS[1], '${LOADED_MARKER}') == 0 then return {'unloaded', ''} end
local stored = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[2] ~= '' then
  if stored then return {'unchanged', stored} end
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
else
  if not stored then return {'unchanged', ''} end
  redis.call('HDEL', KEYS[1], ARGV[1])
end
redis.call('RPUSH', KEYS[2], ARGV[3])
return {'changed', stored or ''}`);

/**
 * Open positions as the approver needs them at decision time: in Redis, updated by the forwarder
 * the moment a delivery succeeds. Postgres keeps the durable copy through the audit trail, which
 * may lag (or wait for Postgres to come back); deciding a SELL against that copy could reject an
 * exit of a position that is really open. If Redis loses the book, it is reloaded from Postgres.
 */
export class PositionBook {
  private readonly key: string;

  /** `deployment`: the KEY_PREFIX whose book this is (its durable copy is kept per deployment too). */
  constructor(private readonly redis: IORedis, readonly deployment: string) {
    this.key = redisKeys(deployment).positions;
  }

  /** Loads the book from the durable copy unless Redis already holds it. */
  async ensureLoaded(loadDurable: () => Promise<OpenPosition[]>): Promise<void> {
    if (await this.redis.hexists(this.key, LOADED_MARKER)) return;
    const positions = await loadDurable();
    const fields = positions.flatMap((p) => [p.ticker, JSON.stringify(p)]);
    // HSETNX per field would be exact; a plain HSET of what Postgres says is close enough at
    // start-up, and the marker goes last so a half-loaded book is reloaded.
    if (fields.length) await this.redis.hset(this.key, ...fields);
    await this.redis.hset(this.key, LOADED_MARKER, new Date().toISOString());
  }

  /** null when the book is not loaded (Redis lost it): the caller must ask Postgres. */
  async isOpen(ticker: string): Promise<boolean | null> {
    const [loaded, position] = await this.redis.hmget(this.key, LOADED_MARKER, ticker);
    if (loaded === null) return null;
    return position !== null;
  }

  async open(position: OpenPosition): Promise<void> {
    await this.redis.eval(OPEN_POSITION, 1, this.key, ...positionArgs(position));
  }

  /**
   * Opens `change.open` or closes `change.close` by hand, unless it already is so; `journal` is
   * appended to the list `journalKey` in the same atomic step when something changed.
   */
  async correct(change: { open: OpenPosition } | { close: string }, journalKey: string, journal: string): Promise<CorrectionResult> {
    const [ticker, position] = 'open' in change ? [change.open.ticker, JSON.stringify(change.open)] : [change.close, ''];
    const [state, before] = (await CORRECT_POSITION.run(this.redis, [this.key, journalKey], [ticker, position, journal])) as [string, string];
    if (state === 'unloaded') return { unloaded: true };
    return { changed: state === 'changed', before: before ? (JSON.parse(before) as OpenPosition) : null };
  }

  async close(ticker: string): Promise<void> {
    await this.redis.hdel(this.key, ticker);
  }

  /** null when the book is not loaded (Redis lost it): the caller must ask Postgres. */
  async list(): Promise<OpenPosition[] | null> {
    const all = await this.redis.hgetall(this.key);
    if (!(LOADED_MARKER in all)) return null;
    return Object.entries(all)
      .filter(([field]) => field !== LOADED_MARKER)
      .map(([, value]) => JSON.parse(value) as OpenPosition)
      .sort((a, b) => a.openedAt.localeCompare(b.openedAt) || a.ticker.localeCompare(b.ticker));
  }

  async lastPrice(ticker: string): Promise<number | null> {
    const stored = await this.redis.hget(this.key, ticker);
    return stored ? (JSON.parse(stored) as OpenPosition).lastPrice : null;
  }
}

import { randomUUID } from 'node:crypto';
import type IORedis from 'ioredis';
import { redisKeys } from './names';
import { LuaScript } from './lua-script';

/**
 * The global cap on requests to the destination, as sliding windows: never more than `cap`
 * request starts (first tries and retries) in any `windowMs`, whatever the number of forwarder
 * replicas. TradersPost allows 60 a minute and 500 an hour, so there are two, checked together.
 *
 * Guarantee: a start is admitted only while every window holds fewer than its cap, checked and
 * recorded in one script on Redis's own clock, at the moment of the start itself, so even a
 * replica that starts late (a GC pause, a stall) cannot exceed a cap.
 */
export interface RateWindow {
  cap: number;
  windowMs: number;
  /** The sorted set logging the starts of this window. */
  key: string;
}

/**
 * The destination counts arrivals, not our starts: a request that started first may reach it later
 * than one started a window after it (a busy event loop between admission and the socket, a slower
 * path). Each window is this much longer than the destination's, so starts that reach it up to
 * this much out of step still never exceed its cap. TradersPost may suspend an account that goes over.
 */
const ARRIVAL_MARGIN_MS = 1000;
/** And 1 ms more, so no two starts exactly a window apart share a closed window. */
export const MINUTE_WINDOW_MS = 60_000 + ARRIVAL_MARGIN_MS + 1;
export const HOUR_WINDOW_MS = 3_600_000 + ARRIVAL_MARGIN_MS + 1;

/**
 * Spacing, not a reservoir: starts (60 s + slack) / cap apart put the whole cap in a minute and no
 * more. Bottleneck grants slots exactly that far apart, but each replica then starts its request on
 * a local timer, late by however long its event loop is busy; only the two ends of a window matter,
 * so spreading 500 ms of slack over its gaps tolerates one end starting up to 500 ms late. Under a
 * longer backlog the logs' windows (a second longer) hold each start back until the one a cap
 * earlier is 61 s old: a backlog drains at 60 / 61 ≈ 98.4 % of the minute's cap.
 */
const WINDOW_SLACK_MS = 500;
export const spacingMs = (maxPerMinute: number) => Math.ceil((60_000 + WINDOW_SLACK_MS) / maxPerMinute);

/** The destination's windows: the minute's cap and the hour's; the hour's length is a parameter so tests can prove it short. */
export function destinationWindows(prefix: string, perMinute: number, perHour: number, hourWindowMs = HOUR_WINDOW_MS): RateWindow[] {
  const keys = redisKeys(prefix);
  return [
    { cap: perMinute, windowMs: MINUTE_WINDOW_MS, key: keys.destinationStarts },
    { cap: perHour, windowMs: hourWindowMs, key: keys.destinationStartsHour },
  ];
}

/**
 * KEYS: one log per window. ARGV: cap and window length per window, then the start's member.
 * Answers {0, now} when admitted (and recorded in every log), else {ms to wait, now}.
 */
const ADMIT = new LuaScript('tspRateAdmit', `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = ARGV[#ARGV]
local wait = 0
for i = 1, #KEYS do
  local cap, window = tonumber(ARGV[2 * i - 1]), tonumber(ARGV[2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[i])
  if count >= cap then
    -- The start that must leave the window before one more fits.
    local leaving = redis.call('ZRANGE', KEYS[i], count - cap, count - cap, 'WITHSCORES')
    wait = math.max(wait, tonumber(leaving[2]) + window - now + 1)
  end
end
if wait > 0 then return {wait, now} end
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, member)
  redis.call('PEXPIRE', KEYS[i], ARGV[2 * i])
end
return {0, now}`);

/**
 * KEYS: one log per window. ARGV: each window's length. Answers each window's count of starts
 * within it as of now (the same bound ADMIT prunes by), then now: read-only, on Redis's clock.
 */
const USE = new LuaScript('tspRateUse', `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local answer = {}
for i = 1, #KEYS do
  answer[i] = redis.call('ZCOUNT', KEYS[i], '(' .. (now - tonumber(ARGV[i])), '+inf')
end
answer[#KEYS + 1] = now
return answer`);

/** How much of one window is used: the starts it holds now against its cap. */
export interface WindowUse {
  cap: number;
  windowMs: number;
  used: number;
}

/** The destination's minute cap and switch in force: the environment's, unless set at runtime. */
export interface LimitsInForce {
  enabled: boolean;
  perMinute: number;
  /** A valid cap is stored (POST /admin/rate-limit {"max_per_minute"}): it wins over the environment's. */
  capSetAtRuntime: boolean;
  /** Limiting was switched on or off at runtime (POST /admin/rate-limit {"enabled"}). */
  switchedAtRuntime: boolean;
}

/**
 * Applies the runtime overrides (the values stored at redisKeys().rateCap and .rateLimiting) over
 * the environment's limits: what every forwarder enforces, and so what ingest reports.
 */
export function limitsInForce(env: { enabled: boolean; perMinute: number }, capSet: string | null, switched: string | null): LimitsInForce {
  const cap = Number(capSet);
  const capSetAtRuntime = capSet !== null && Number.isInteger(cap) && cap > 0;
  const switchedAtRuntime = switched === '1' || switched === '0';
  return {
    enabled: switchedAtRuntime ? switched === '1' : env.enabled,
    perMinute: capSetAtRuntime ? cap : env.perMinute,
    capSetAtRuntime,
    switchedAtRuntime,
  };
}

/** Waiting for a window stopped because its holder is shutting down. */
export class StartAbandonedError extends Error {
  constructor() {
    super('stopped waiting for the rate windows');
    this.name = 'StartAbandonedError';
  }
}

/** The windows admit no start before the request's deadline: it would start too late to be sent. */
export class StartAfterDeadlineError extends Error {
  constructor(readonly waitMs: number) {
    super(`the rate windows admit no start for ${waitMs} ms, past the request's deadline`);
    this.name = 'StartAfterDeadlineError';
  }
}

/**
 * The windows admit no start for longer than the caller would hold a worker for: it should hand
 * the work back and come again after `waitMs` (nothing was recorded).
 */
export class WindowFullError extends Error {
  constructor(readonly waitMs: number) {
    super(`the rate windows are full for ${waitMs} ms`);
    this.name = 'WindowFullError';
  }
}

export interface AdmitOptions {
  /** Asked between waits: a wait may last up to a window. */
  abandoned?: () => boolean;
  /** Epoch ms after which the start is pointless (StartAfterDeadlineError instead of a late start). */
  deadline?: number;
  /** The longest the caller waits here (WindowFullError beyond). */
  maxWaitMs?: number;
}

export class StartLog {
  constructor(private readonly redis: IORedis) {}

  /**
   * Resolves, with the start's time on Redis's clock, once every window admits it (and it is
   * recorded in each). A start is never recorded for a request that then cannot go: past its
   * deadline, or handed back because the wait is long, it throws instead.
   */
  async admit(windows: RateWindow[], options: AdmitOptions = {}): Promise<number> {
    const { abandoned = () => false, deadline, maxWaitMs } = options;
    const keys = windows.map((w) => w.key);
    const args = windows.flatMap((w) => [w.cap, w.windowMs]);
    for (;;) {
      if (abandoned()) throw new StartAbandonedError();
      const [waitMs, now] = (await ADMIT.run(this.redis, keys, [...args, randomUUID()])) as [number, number];
      if (waitMs <= 0) return now;
      if (deadline !== undefined && now + waitMs >= deadline) throw new StartAfterDeadlineError(waitMs);
      if (maxWaitMs !== undefined && waitMs > maxWaitMs) throw new WindowFullError(waitMs);
      await sleepUnless(Math.min(waitMs, ABANDON_CHECK_MS), abandoned);
    }
  }

  /**
   * How many starts each window holds right now (what the next admission counts against its cap),
   * and Redis's time of the reading. Starts made while limiting was off were not logged.
   */
  async use(windows: RateWindow[]): Promise<{ at: number; windows: WindowUse[] }> {
    const reply = (await USE.run(this.redis, windows.map((w) => w.key), windows.map((w) => w.windowMs))) as number[];
    return { at: Number(reply[windows.length]), windows: windows.map((w, i) => ({ cap: w.cap, windowMs: w.windowMs, used: Number(reply[i]) })) };
  }

  /** Each window's logged starts (epoch ms, oldest first), within the window as of now. */
  async starts(windows: RateWindow[], now = Date.now()): Promise<number[][]> {
    const pipeline = this.redis.pipeline();
    for (const w of windows) pipeline.zrangebyscore(w.key, String(now - w.windowMs), '+inf', 'WITHSCORES');
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([, reply]) => {
      const flat = (reply ?? []) as string[];
      return flat.filter((_, i) => i % 2 === 1).map(Number);
    });
  }
}

/** A long wait is taken in steps this long, so a shutdown is noticed. */
const ABANDON_CHECK_MS = 500;

function sleepUnless(ms: number, abandoned: () => boolean): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, abandoned() ? 0 : ms));
}

export interface StartForecast {
  /** When the next request may start (now, when it may start at once). */
  nextStartAt: number;
  /** When the backlog will have started, at the current limits; null for an empty backlog. */
  clearsAt: number | null;
}

/**
 * Starts simulated one by one; a longer backlog is extrapolated at the windows' steady rate, so
 * a public status page costs the same however long the backlog.
 */
const SIMULATED_STARTS = 5_000;

/**
 * When `backlog` more requests will have started, under the windows (with their logged starts,
 * oldest first) and an even spacing between starts: a simulation of the limiter's own rule.
 */
export function forecastStarts(backlog: number, windows: { cap: number; windowMs: number; starts: number[] }[], spacingMs: number, now = Date.now()): StartForecast {
  const logs = windows.map((w) => ({ ...w, starts: [...w.starts], head: 0 }));
  const last = Math.max(-Infinity, ...logs.flatMap((l) => l.starts));
  let t = Math.max(now, Number.isFinite(last) ? last + spacingMs : now);
  const nextFree = (at: number) => {
    let start = at;
    for (const log of logs) {
      while (log.head < log.starts.length && log.starts[log.head] <= start - log.windowMs) log.head++;
      const inWindow = log.starts.length - log.head;
      if (inWindow >= log.cap) start = Math.max(start, log.starts[log.starts.length - log.cap] + log.windowMs);
    }
    return start;
  };
  // A later window may push a start past another's limit again: settle until stable.
  const settle = (at: number) => {
    let start = at;
    for (let next = nextFree(start); next !== start; next = nextFree(start)) start = next;
    return start;
  };
  const nextStartAt = settle(t);
  if (backlog <= 0) return { nextStartAt, clearsAt: null };
  t = nextStartAt;
  const steps = Math.min(backlog, SIMULATED_STARTS);
  for (let i = 0; i < steps; i++) {
    t = settle(t);
    for (const log of logs) log.starts.push(t);
    if (i < steps - 1) t += spacingMs;
  }
  // The rest at the slowest steady rate: one per spacing, and no more than each window's cap per window.
  const msPerStart = Math.max(spacingMs, ...windows.map((w) => w.windowMs / w.cap));
  return { nextStartAt, clearsAt: t + (backlog - steps) * msPerStart };
}

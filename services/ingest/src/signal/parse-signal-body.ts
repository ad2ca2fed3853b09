/**
 * The raw text of POST /webhook/in as the object normaliseSignal reads, or why it is not one.
 *
 * Nesting is limited, and measured on the text before JSON.parse: JSON.parse copes with 5,000
 * nested brackets, but what handles the object after it does not (adding such a job to BullMQ
 * overflows the call stack, and the sender was told "503 Redis is unavailable", an invitation to
 * send it again), and no signal needs more than a few levels. The measure is one linear pass over the text that skips string
 * contents, escaped quotes included, so brackets inside a string are never counted.
 */

export type SignalBody = { ok: true; input: Record<string, unknown> } | { ok: false; message: string };

/** Levels of objects and arrays a body may nest, counting the body itself. */
export const MAX_NESTING = 32;

const QUOTE = 0x22; // "
const BACKSLASH = 0x5c;
const OPENERS = new Set([0x7b, 0x5b]); // { [
const CLOSERS = new Set([0x7d, 0x5d]); // } ]

export function parseSignalBody(raw: unknown): SignalBody {
  if (typeof raw !== 'string') return { ok: false, message: 'Body must be JSON text' };
  if (nestsDeeperThan(raw, MAX_NESTING)) {
    return { ok: false, message: `Body nests objects and arrays deeper than ${MAX_NESTING} levels` };
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return { ok: false, message: `Body is not valid JSON: ${(error as Error).message}` };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, message: 'Body must be a JSON object, e.g. {"ticker": "AAPL", "side": "buy"}' };
  }
  return { ok: true, input: value as Record<string, unknown> };
}

/**
 * True when the text opens more than `limit` objects/arrays inside one another. Exact for valid
 * JSON; text it miscounts (more closers than openers) is not valid JSON and JSON.parse refuses it.
 */
function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i += 1; // the escaped character, a quote included, is string content
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (OPENERS.has(code)) {
      depth += 1;
      if (depth > limit) return true;
    } else if (CLOSERS.has(code)) {
      depth -= 1;
    }
  }
  return false;
}

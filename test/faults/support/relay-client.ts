import { FAULT_TICKERS } from './topn-publisher';

export interface PostResult {
  status: number;
  id: string | null;
  /** On a 200 to a repeated Idempotency-Key: the id of the signal the key's first post created. */
  firstId?: string | null;
  /** The Retry-After header of the answer, if any. */
  retryAfter?: string | null;
  /** The `message` of an error answer. */
  message?: string;
}

/** A BUY of a Top-N ticker carrying `fault_ref`, a passthrough field that tells which post a request at the destination came from. */
export function faultSignal(ref: string, index: number): Record<string, unknown> {
  return { ticker: FAULT_TICKERS[index % FAULT_TICKERS.length], action: 'buy', price: 10 + index, fault_ref: ref };
}

/** Talks to the relay over HTTP as a signal source and as an operator (Bearer ADMIN_TOKEN) would. */
export class RelayClient {
  constructor(private readonly ingestUrl: string, private readonly adminToken: string) {}

  /** POST /webhook/in once; id is set only when the relay accepted the signal (202). */
  async post(body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<PostResult> {
    const res = await fetch(`${this.ingestUrl}/webhook/in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    const answer = (await res.json().catch(() => ({}))) as { id?: string; message?: string };
    return {
      status: res.status,
      id: res.status === 202 ? answer.id ?? null : null,
      firstId: res.status === 200 ? answer.id ?? null : null,
      retryAfter: res.headers.get('retry-after'),
      message: answer.message,
    };
  }

  /**
   * Posts with an Idempotency-Key until the relay has the signal, as a careful source does when an
   * answer may be lost (a Redis crash between the write and the 202): a 503 or a cut connection
   * is sent again with the same key, and a 200 names the signal the key's first post created.
   * Resolves with the signal's id.
   */
  async postKeyedUntilAccepted(body: Record<string, unknown>, key: string, timeoutMs = 30_000, onRetry?: (why: string) => void): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    for (;;) {
      try {
        const result = await this.post(body, { 'idempotency-key': key });
        const id = result.id ?? result.firstId;
        if (id) return id;
        last = `HTTP ${result.status} ${result.message ?? ''}`;
        if (result.status !== 503) break;
      } catch (error) {
        last = (error as Error).message;
      }
      if (Date.now() > deadline) break;
      onRetry?.(last);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`the relay did not accept signal ${key}: ${last}`);
  }

  /**
   * Posts until the relay accepts (202), as a source that honours 503 + Retry-After does; a 503
   * means "not accepted", so only 202s count as signals the relay owes a delivery.
   */
  async postUntilAccepted(body: Record<string, unknown>, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    for (;;) {
      try {
        const result = await this.post(body);
        if (result.id) return result.id;
        last = `HTTP ${result.status}`;
        if (result.status !== 503) break;
      } catch (error) {
        last = (error as Error).message;
      }
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`the relay did not accept a signal: ${last}`);
  }

  /** GET /signals/:id — the signal's whole life as the public API shows it. */
  async signal(id: string): Promise<Record<string, unknown> & { status: string; reason: string | null; deliveries: Array<Record<string, unknown>> }> {
    const res = await fetch(`${this.ingestUrl}/signals/${id}`, { headers: { authorization: `Bearer ${this.adminToken}` } });
    if (res.status !== 200) throw new Error(`GET /signals/${id} answered ${res.status}: ${await res.text()}`);
    return (await res.json()) as never;
  }

  /** GET /ready of ingest: status and body. */
  async ready(): Promise<{ status: number; body: { status?: string; failing?: Record<string, string> } }> {
    const res = await fetch(`${this.ingestUrl}/ready`, { signal: AbortSignal.timeout(10_000) });
    const body: { status?: string; failing?: Record<string, string> } = (await res.json().catch(() => null)) ?? {};
    return { status: res.status, body };
  }

  /** GET /status of ingest: queue sizes per queue and state, pause, audit outbox, … of the whole relay. */
  async status(): Promise<{ queues: Record<string, Record<string, number>>; delivery_paused: boolean; audit_outbox: number }> {
    const res = await fetch(`${this.ingestUrl}/status`, { signal: AbortSignal.timeout(10_000) });
    if (res.status !== 200) throw new Error(`GET /status answered ${res.status}`);
    return (await res.json()) as never;
  }

  /** An admin call to any service (ingest or a forwarder); its JSON answer read as the shape the caller names (null if not JSON). */
  async admin<T = unknown>(serviceUrl: string, method: 'GET' | 'POST', route: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${serviceUrl}${route}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, body: (await res.json().catch(() => null)) as T };
  }
}

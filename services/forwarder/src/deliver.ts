import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import axios, { type AxiosInstance } from 'axios';
import { parseRetryAfterMs, type DestinationTarget, type OutboundBody } from '@tsp/core';
import { PermanentDeliveryError, TransientDeliveryError, type AttemptFacts } from './delivery-errors';
import { signatureHeaders, webhookSigner } from './sign-request';

export interface DestinationOptions {
  url: string;
  timeoutMs: number;
  /** DEST_WEBHOOK_SECRET: when set, every request is signed. */
  secret: string | null;
}

/** Statuses the contract retries; every other non-2xx answer is final. */
const RETRYABLE_STATUS = (status: number) => status === 408 || status === 429 || status >= 500;

/** Of a failed answer's body, only this much is kept: enough to tell what went wrong. */
const ERROR_BODY_BYTES = 1024;
const SNIPPET_CHARS = 200;
/**
 * An answer's body is read to its end (so the keep-alive connection can carry the next request)
 * only up to this size; a larger one closes the connection instead: a destination cannot make a
 * worker read a body of any size.
 */
const DRAIN_LIMIT_BYTES = 64 * 1024;

/**
 * Reads an answer's body to its end, keeping its first `keep` bytes, or closes the connection
 * once it passes DRAIN_LIMIT_BYTES. The request's deadline aborts a body that trickles.
 */
async function drain(stream: Readable, keep: number): Promise<string> {
  const kept: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    if (size < keep) kept.push(buffer);
    size += buffer.length;
    if (size > DRAIN_LIMIT_BYTES) {
      stream.destroy();
      break;
    }
  }
  const text = Buffer.concat(kept).subarray(0, keep).toString('utf8');
  return text.length > SNIPPET_CHARS ? `${text.slice(0, SNIPPET_CHARS)}…` : text;
}

/**
 * Node's keep-alive agent sets SO_KEEPALIVE again each time a socket returns to its pool: a system
 * call per delivery for a setting the socket already has. Set once, when the socket is new.
 */
function withKeepAliveSetOnce<T extends http.Agent>(agent: T): T {
  const keepSocketAlive = agent.keepSocketAlive.bind(agent);
  agent.keepSocketAlive = (socket) => {
    const result = keepSocketAlive(socket);
    // Node's own step (timeouts, the server's keep-alive hint) still runs on every return.
    (socket as Socket).setKeepAlive = () => socket as Socket;
    return result;
  };
  return agent;
}

/**
 * Sends one signal to the destination. Resolves with the attempt's facts on 2xx; otherwise throws
 * a TransientDeliveryError (retry) or a PermanentDeliveryError (dead), each carrying the facts.
 * The timeout is a hard deadline on the whole exchange (axios's own `timeout` is an idle timer,
 * which a destination trickling bytes never trips), and the answer's body is barely read.
 */
export class Destination {
  private readonly http: AxiosInstance;
  private readonly signer;
  private target: DestinationTarget;

  constructor(options: DestinationOptions) {
    this.target = { url: options.url, timeoutMs: options.timeoutMs };
    this.signer = options.secret ? webhookSigner(options.secret) : null;
    this.http = axios.create({
      // Every answer is judged here, not by axios.
      validateStatus: () => true,
      // A redirect of a POST is a misconfigured URL; following it could re-send the trade elsewhere.
      maxRedirects: 0,
      responseType: 'stream',
      httpAgent: withKeepAliveSetOnce(new http.Agent({ keepAlive: true })),
      httpsAgent: withKeepAliveSetOnce(new https.Agent({ keepAlive: true })),
    });
  }

  /** Delivers to another URL, or with another timeout, from the next request on (see RuntimeDestination). */
  retarget(target: DestinationTarget): void {
    this.target = { ...target };
  }

  async deliver(signalId: string, body: OutboundBody): Promise<AttemptFacts> {
    const { url, timeoutMs } = this.target;
    const payload = JSON.stringify(body);
    // A Buffer goes out as it is; a string body would be parsed again by axios to check it is JSON.
    const bytes = Buffer.from(payload);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'idempotency-key': signalId,
      'user-agent': 'tsp-forwarder',
      ...(this.signer ? signatureHeaders(this.signer, signalId, payload) : {}),
    };
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    // The deadline's timer is cleared once the exchange is over: AbortSignal.timeout's would live
    // on for the whole timeout after each delivery (measured: twice the cost of this pair).
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    timer.unref();
    const settled = () => clearTimeout(timer);
    let drainingBehind = false;
    try {
      const response = await this.http.post<Readable>(url, bytes, { headers, signal: deadline.signal });
      const facts = { httpStatus: response.status, latencyMs: elapsed() };
      if (response.status >= 200 && response.status < 300) {
        // Delivered: the status is the answer. The body is drained behind it, not awaited, still
        // under the deadline (a body that trickles is cut there).
        drainingBehind = true;
        drain(response.data, 0).catch(() => undefined).finally(settled);
        return facts;
      }
      const text = await drain(response.data, ERROR_BODY_BYTES).catch(() => '');
      const message = `destination answered ${response.status}${text ? `: ${text}` : ''}`;
      if (RETRYABLE_STATUS(response.status)) {
        throw new TransientDeliveryError(message, facts, parseRetryAfterMs(response.headers['retry-after'] as string | undefined));
      }
      throw new PermanentDeliveryError(message, facts);
    } catch (error) {
      if (error instanceof TransientDeliveryError || error instanceof PermanentDeliveryError) throw error;
      const facts = { httpStatus: null, latencyMs: elapsed() };
      if (deadline.signal.aborted) throw new TransientDeliveryError(`timed out after ${timeoutMs} ms`, facts);
      const code = (error as { code?: string }).code;
      throw new TransientDeliveryError(`${code ?? 'error'}: ${(error as Error).message}`, facts);
    } finally {
      if (!drainingBehind) settled();
    }
  }
}

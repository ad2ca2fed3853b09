import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance } from 'axios';
import type { OutboundBody } from '@tsp/core';
import { PermanentDeliveryError, TransientDeliveryError, type AttemptFacts } from './delivery-errors';
import { parseRetryAfterMs } from './retry-after';
import { secretKey, signatureHeaders } from './sign-request';

export interface DestinationOptions {
  url: string;
  timeoutMs: number;
  /** DEST_WEBHOOK_SECRET: when set, every request is signed. */
  secret: string | null;
}

/** Statuses the contract retries; every other non-2xx answer is final. */
const RETRYABLE_STATUS = (status: number) => status === 408 || status === 429 || status >= 500;

/** Keeps only the start of an answer in the audit trail: enough to tell what went wrong. */
function snippet(data: unknown): string {
  const text = typeof data === 'string' ? data : JSON.stringify(data ?? '');
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * Sends one signal to the destination. Resolves with the attempt's facts on 2xx; otherwise throws
 * a TransientDeliveryError (retry) or a PermanentDeliveryError (dead), each carrying the facts.
 */
export class Destination {
  private readonly http: AxiosInstance;
  private readonly key: Buffer | null;

  constructor(private readonly options: DestinationOptions) {
    this.key = options.secret ? secretKey(options.secret) : null;
    this.http = axios.create({
      timeout: options.timeoutMs,
      // Every answer is judged here, not by axios.
      validateStatus: () => true,
      // A redirect of a POST is a misconfigured URL; following it could re-send the trade elsewhere.
      maxRedirects: 0,
      responseType: 'text',
      transitional: { clarifyTimeoutError: true },
      httpAgent: new http.Agent({ keepAlive: true }),
      httpsAgent: new https.Agent({ keepAlive: true }),
    });
  }

  async deliver(signalId: string, body: OutboundBody): Promise<AttemptFacts> {
    const payload = JSON.stringify(body);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'idempotency-key': signalId,
      'user-agent': 'tsp-forwarder',
      ...(this.key ? signatureHeaders(this.key, signalId, payload) : {}),
    };
    const started = performance.now();
    let response;
    try {
      response = await this.http.post(this.options.url, payload, { headers });
    } catch (error) {
      const facts = { httpStatus: null, latencyMs: Math.round(performance.now() - started) };
      const code = (error as { code?: string }).code;
      const reason = code === 'ETIMEDOUT' || code === 'ECONNABORTED' ? `timed out after ${this.options.timeoutMs} ms` : `${code ?? 'error'}: ${(error as Error).message}`;
      throw new TransientDeliveryError(reason, facts);
    }
    const facts = { httpStatus: response.status, latencyMs: Math.round(performance.now() - started) };
    if (response.status >= 200 && response.status < 300) return facts;
    const message = `destination answered ${response.status}${response.data ? `: ${snippet(response.data)}` : ''}`;
    if (RETRYABLE_STATUS(response.status)) {
      throw new TransientDeliveryError(message, facts, parseRetryAfterMs(response.headers['retry-after'] as string | undefined));
    }
    throw new PermanentDeliveryError(message, facts);
  }
}

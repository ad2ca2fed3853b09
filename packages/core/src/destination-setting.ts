import { createHash } from 'node:crypto';
import { z } from 'zod';
import { hasSpaceOrControl, urlHostAllowed } from './allowed-host';

/**
 * The destination a forwarder delivers to, changed at runtime (GET/POST /admin/destination on the
 * forwarder) for every replica. The URL must name a host in DEST_ALLOWED_HOSTS: a stolen admin
 * token cannot send trades elsewhere unnoticed.
 */

export const DEST_TIMEOUT_MIN_MS = 100;
export const DEST_TIMEOUT_MAX_MS = 600_000;

/** The destination in force: the environment's, or one set at runtime. */
export interface DestinationTarget {
  url: string;
  timeoutMs: number;
}

export function destinationChangeSchema(allowedHosts: readonly string[]) {
  return z
    .object({
      url: z
        .string()
        .max(2000)
        .refine((url) => !hasSpaceOrControl(url), 'must not contain spaces or control characters')
        .refine((url) => urlHostAllowed(url, allowedHosts), {
          message: `must be an http or https URL without credentials whose host is in DEST_ALLOWED_HOSTS (${allowedHosts.join(', ') || 'empty'})`,
        }),
      timeout_ms: z.number().int().min(DEST_TIMEOUT_MIN_MS).max(DEST_TIMEOUT_MAX_MS),
    })
    .partial()
    .strict()
    .refine((change) => Object.keys(change).length > 0, 'give url, timeout_ms, or both');
}
export type DestinationChange = z.infer<ReturnType<typeof destinationChangeSchema>>;

/**
 * What may be shown of a destination: its origin, never its path or query (TradersPost's webhook
 * URL carries its secret in the path), and a fingerprint to tell two URLs apart.
 */
export function destinationView(url: string): { origin: string; fingerprint: string } {
  return { origin: new URL(url).origin, fingerprint: createHash('sha256').update(url).digest('hex').slice(0, 12) };
}
